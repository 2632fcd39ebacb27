#include "router.h"

namespace engram::server {

// Empty segments are kept ("/v1/memories//ingest" has an empty name, which no route matches):
// merging them turned a client's empty name variable into another route — a DELETE of
// "/v1/memories/" + "" + "/ingest" dropped the memory called "ingest". Only the leading slash
// and one trailing slash are not segments.
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t pos = path.empty() || path[0] != '/' ? 0 : 1;
  while (pos <= path.size()) {
    std::size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    out.push_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

namespace {
// Whether a route for `route_method` answers `method`: HEAD is answered wherever GET is
// (RFC 9110 §9.3.2; the network layer leaves the body out).
bool serves(const std::string& route_method, const std::string& method) {
  return route_method == method || (method == "HEAD" && route_method == "GET");
}

void add_allowed(std::string& allow, const std::string& method) {
  if (allow.find(method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + method;
}
}  // namespace

void Router::add(const std::string& method, const std::string& pattern, Handler handler) {
  routes_.push_back(Route{method, pattern, split_path(pattern), std::move(handler), false});
}

std::vector<std::pair<std::string, std::string>> Router::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Route& r : routes_) out.emplace_back(r.method, r.pattern);
  return out;
}

void Router::add_streaming(const std::string& method, const std::string& pattern, Handler handler) {
  routes_.push_back(Route{method, pattern, split_path(pattern), std::move(handler), true});
}

bool Router::match_segments(const Route& r, const std::vector<std::string>& path, Params* params) {
  if (r.segments.size() != path.size()) return false;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const std::string& s = r.segments[i];
    bool is_param = s.size() > 2 && s.front() == '{' && s.back() == '}';
    if (!is_param && s != path[i]) return false;
    if (is_param && path[i].empty()) return false;
  }
  if (params) {
    for (std::size_t i = 0; i < path.size(); ++i) {
      const std::string& s = r.segments[i];
      if (s.size() > 2 && s.front() == '{') (*params)[s.substr(1, s.size() - 2)] = path[i];
    }
  }
  return true;
}

RouteMatch Router::match(const std::string& method, const std::string& path) const {
  RouteMatch m;
  auto segs = split_path(path);
  // Specificity: the route with the most literal segments wins (there are few routes; a scan
  // is simpler than a trie and fast enough).
  const Route* best = nullptr;
  int best_literals = -1;
  for (const Route& r : routes_) {
    if (!match_segments(r, segs, nullptr)) continue;
    int literals = 0;
    for (const auto& s : r.segments) literals += s.empty() || s.front() != '{';
    if (serves(r.method, method) && literals > best_literals) {
      best = &r;
      best_literals = literals;
    }
  }
  if (best) {
    m.handler = &best->handler;
    m.route = best->pattern;
    m.streaming = best->streaming;
    match_segments(*best, segs, &m.params);
    return m;
  }
  // No route for this method: list what the path does support (405) or leave allow empty (404).
  for (const Route& r : routes_) {
    if (!match_segments(r, segs, nullptr)) continue;
    add_allowed(m.allow, r.method);
    if (r.method == "GET") add_allowed(m.allow, "HEAD");
    m.route = r.pattern;
  }
  return m;
}

}  // namespace engram::server
