// handlers_ui.cc — the console (server/ui/, docs/console.md): static files compiled into the
// server (embedded_files.h), at /ui (the page) and /ui/{file} (its scripts and styles).
//
// Caching: every answer carries an ETag (a hash of the file) and "Cache-Control: no-cache", so
// a browser keeps its copy but asks each time, and a file that did not change costs a 304 with
// no body; a new server binary with a changed console is picked up at once.
#include <cstdint>
#include <cstdio>
#include <map>
#include <string_view>

#include "embedded_files.h"
#include "errors.h"
#include "service.h"

namespace engram::server {

namespace {

struct UiFile {
  std::string_view bytes;
  std::string content_type;
  std::string etag;
};

std::string content_type_of(std::string_view name) {
  auto ends_with = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  // Module scripts must have a JavaScript type (browsers refuse others under nosniff).
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  if (ends_with(".png")) return "image/png";
  return "application/octet-stream";
}

// FNV-1a: not for security, only to tell one version of a file from another.
std::string etag_of(std::string_view bytes) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  char out[24];
  std::snprintf(out, sizeof out, "\"%016llx\"", static_cast<unsigned long long>(h));
  return out;
}

const std::map<std::string, UiFile>& ui_files() {
  static const std::map<std::string, UiFile> files = [] {
    std::map<std::string, UiFile> m;
    for (std::size_t i = 0; i < kEmbeddedFileCount; ++i) {
      const EmbeddedFile& f = kEmbeddedFiles[i];
      std::string_view bytes(reinterpret_cast<const char*>(f.data), f.size);
      m[f.name] = UiFile{bytes, content_type_of(f.name), etag_of(bytes)};
    }
    return m;
  }();
  return files;
}

// If-None-Match holds one ETag, several separated by commas, or "*" (RFC 9110 §13.1.2).
bool matches(const std::string& if_none_match, const std::string& etag) {
  if (if_none_match.empty()) return false;
  if (if_none_match.find('*') != std::string::npos) return true;
  return if_none_match.find(etag) != std::string::npos;
}

Response serve(const Request& req, const std::string& name) {
  const auto& files = ui_files();
  auto it = files.find(name);
  if (it == files.end()) throw HttpError(404, "not_found", "the console has no file " + name);
  const UiFile& f = it->second;
  Response res;
  res.headers.emplace_back("ETag", f.etag);
  res.headers.emplace_back("Cache-Control", "no-cache");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  // The page may load and call nothing but this server: no request leaves the machine, and an
  // injected script could not send a memory's contents elsewhere.
  res.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  if (matches(req.if_none_match, f.etag)) {
    res.status = 304;
    res.content_type.clear();
    return res;
  }
  res.content_type = f.content_type;
  res.body.assign(f.bytes.data(), f.bytes.size());
  return res;
}

}  // namespace

bool is_ui_path(const std::string& path) { return path == "/ui" || path.rfind("/ui/", 0) == 0; }

void add_ui_routes(Router& router) {
  // "/ui" also answers "/ui/" (the router ignores a trailing slash); the page names its files
  // by absolute paths, so it works from either.
  router.add("GET", "/ui", [](const Request& req, const Params&) { return serve(req, "index.html"); });
  router.add("GET", "/ui/{file}", [](const Request& req, const Params& p) { return serve(req, p.at("file")); });
}

}  // namespace engram::server
