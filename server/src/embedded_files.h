// embedded_files.h — files compiled into the server (the console, server/ui/), by
// cmake/embed_files.cmake, which writes the table below into a generated source.
#pragma once

#include <cstddef>

namespace engram::server {

struct EmbeddedFile {
  const char* name;  // relative to server/ui/, e.g. "index.html"
  const unsigned char* data;
  std::size_t size;
};

extern const EmbeddedFile kEmbeddedFiles[];
extern const std::size_t kEmbeddedFileCount;

}  // namespace engram::server
