// http_message.h — the server's own request/response types.
//
// Why not Beast's message types: the handlers, the router and the tests should not pay for (or
// depend on) Beast. The network layer (http_server.cc) converts at the edge, so a request can be
// handled as a plain function call: Response Service::handle(const Request&).
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace engram::server {

struct Request {
  std::string method;  // "GET", "POST", ... (upper case)
  std::string target;  // path and query as sent: "/v1/memories/a?encoding=base64"
  std::string content_type;
  std::string authorization;
  std::string if_none_match;  // a cached copy's ETag(s): the console's files answer 304 to it
  std::string body;
  // Streaming routes (Router::add_streaming) read their body here, as it arrives, instead of
  // from `body`; Service::handle() points it at `body` when the body was read whole.
  std::istream* body_stream = nullptr;
  std::uint64_t content_length = 0;  // as announced (0: unknown or none)
  bool keep_alive = true;
  // Set by the network layer from the header (Content-Length > 0 or chunked) before the body
  // has been read, so that a request can be refused without reading its body.
  bool expects_body = false;

  // The path without the query string.
  std::string path() const;
  // The value of query parameter `key`, or `fallback` (no percent-decoding: the API's
  // parameters are plain words).
  std::string query(const std::string& key, const std::string& fallback = {}) const;
  // query(), percent-decoded ("+" is a space), for parameters that carry text such as a JSON
  // filter. Throws HttpError 400 for a malformed escape.
  std::string query_text(const std::string& key, const std::string& fallback = {}) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Allow
  bool close = false;  // the server must close the connection after sending this response
};

}  // namespace engram::server
