// search_flags.h — the per-call search settings `engram search` and `engram read` share.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <engram/engram.h>

namespace engram::cli {

struct SearchFlags {
  int ef = 0, nprobe = 0;
  std::string filter;

  // Declares --ef, --nprobe and --filter on `cmd`.
  void add_to(CLI::App& cmd);
  // SearchOptions with k and these settings; the filter parsed here, so a bad one fails before
  // the database is opened (kInvalidArgument naming the condition).
  SearchOptions options(int k) const;
};

}  // namespace engram::cli
