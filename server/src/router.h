// router.h — maps (method, path) to a handler, with {param} path segments.
//
// A path no pattern matches is 404; a path some pattern matches under another method is 405
// (with the Allow header). Literal segments win over parameters, so "/v1/memories/{name}/read"
// is never taken for a slot id. HEAD takes the GET route of its path.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "http_message.h"

namespace engram::server {

struct RouteMatch;
using Params = std::map<std::string, std::string>;
using Handler = std::function<Response(const Request&, const Params&)>;

struct RouteMatch {
  const Handler* handler = nullptr;  // null: no route for this method
  std::string route;                 // the matched pattern, e.g. "/v1/memories/{name}"; metric label
  Params params;
  std::string allow;                 // methods the path supports, when handler is null but path matched
  bool streaming = false;            // the handler reads the body as it arrives (Request::body_stream)
};

class Router {
 public:
  void add(const std::string& method, const std::string& pattern, Handler handler);
  // A route whose handler reads the body from Request::body_stream while it arrives, so a body
  // of any size passes through bounded memory (the network layer feeds it; see body_pipe.h).
  void add_streaming(const std::string& method, const std::string& pattern, Handler handler);
  RouteMatch match(const std::string& method, const std::string& path) const;
  // Every (method, pattern) added, in the order added (the OpenAPI check lists them).
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
    bool streaming = false;
  };
  static bool match_segments(const Route& r, const std::vector<std::string>& path, Params* params);
  std::vector<Route> routes_;
};

std::vector<std::string> split_path(const std::string& path);

}  // namespace engram::server
