// access_log.h — one line per answered request (ServerOptions::access_log), written to the
// "engram-access" spdlog logger: method, route, path, status, bytes, duration, client.
//
// The route is the pattern ("/v1/memories/{name}/read") so lines group like the metrics; the
// path is there too, for finding one memory's requests.
#pragma once

#include <string>

namespace engram::server {

struct AccessRecord {
  std::string method, route, path, client;
  int status = 0;
  std::size_t bytes = 0;  // of the answer's body
  double seconds = 0;     // from the request's header to its answer
};

// The line's fields: logfmt (`method=GET route=... status=200 ...`) for "text", JSON object
// members (`"method":"GET","route":...`) for "json" — the logger's pattern adds the time.
std::string access_fields(const AccessRecord& r, const std::string& format);

// Logs `r` to the "engram-access" logger (created on stderr if nobody configured one).
void log_access(const AccessRecord& r, const std::string& format);

}  // namespace engram::server
