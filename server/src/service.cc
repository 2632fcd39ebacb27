#include "service.h"

#include <chrono>
#include <sstream>

#include <spdlog/spdlog.h>

#include "errors.h"

namespace engram::server {

std::string media_type(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

namespace {
bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

bool is_ingest(const std::string& path) {
  return path.size() > 7 && path.compare(path.size() - 7, 7, "/ingest") == 0;
}

// Compares without an early exit, so the time taken does not reveal how much of a guess matched.
bool equal_constant_time(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % (b.empty() ? 1 : b.size())];
  return diff == 0;
}
}  // namespace

Service::Service(std::unique_ptr<Database> db, const ServerOptions& options)
    : db_(std::move(db)), options_(options) {
  add_routes();
}

Service::~Service() = default;

void Service::add_routes() {
  add_admin_routes(router_, *this);
  add_memory_routes(router_, *this);
  add_slot_routes(router_, *this);
  add_op_routes(router_, *this);
  add_ingest_routes(router_, *this);
}

std::size_t Service::body_limit(const Request& req) const {
  return is_ingest(req.path()) ? options_.max_ingest_bytes : options_.max_body_bytes;
}

bool Service::streams(const Request& req) const { return router_.match(req.method, req.path()).streaming; }

std::shared_ptr<void> Service::claim_ingest(const std::string& name) {
  std::lock_guard<std::mutex> lock(ingest_mu_);
  if (!ingesting_.insert(name).second)
    throw HttpError(409, error_code_name(ErrorCode::kFailedPrecondition), "an ingest into memory '" + name + "' is running; a memory takes one at a time");
  return std::shared_ptr<void>(nullptr, [this, name](void*) {
    std::lock_guard<std::mutex> lock(ingest_mu_);
    ingesting_.erase(name);
  });
}

Fields Service::decode(const Request& req, const Schema& schema) const {
  return decode_body(req.body, schema, options_.max_batch);
}

std::optional<Response> Service::check_head(const Request& req) const {
  const std::string path = req.path();
  if (stopping_) return make_error(503, "unavailable", "the server is shutting down");
  // Health stays open so that a load balancer needs no token.
  if (!options_.token.empty() && path != "/v1/health") {
    const std::string expected = "Bearer " + options_.token;
    if (req.authorization.empty())
      return make_error(401, "unauthenticated", "this server needs \"Authorization: Bearer <token>\"");
    if (!equal_constant_time(req.authorization, expected))
      return make_error(401, "unauthenticated", "wrong bearer token");
  }
  RouteMatch m = router_.match(req.method, path);
  if (!m.handler) {
    if (m.allow.empty()) return make_error(404, "not_found", "no route for " + path);
    Response r = make_error(405, "method_not_allowed", req.method + " is not allowed on " + path);
    r.headers.emplace_back("Allow", m.allow);
    return r;
  }
  if ((req.method == "POST" || req.method == "PUT") && (req.expects_body || !req.body.empty())) {
    const std::string type = media_type(req.content_type);
    bool ok = type == "application/json" ||
              (is_ingest(path) && (type == "application/x-ndjson" || type == "application/jsonl" ||
                                   type == "application/octet-stream"));
    if (!ok)
      return make_error(415, "unsupported_media_type",
                        "Content-Type must be application/json" +
                            std::string(is_ingest(path) ? ", application/x-ndjson or application/octet-stream" : "") +
                            ", not \"" + req.content_type + "\"");
  }
  if (req.body.size() > body_limit(req))
    return make_error(413, "payload_too_large",
                      "the body exceeds " + std::to_string(body_limit(req)) + " bytes");
  return std::nullopt;
}

Response Service::handle(const Request& req) {
  const auto start = std::chrono::steady_clock::now();
  const std::string path = req.path();
  RouteMatch m = router_.match(req.method, path);
  Response res;
  if (auto refusal = check_head(req)) {
    res = std::move(*refusal);
  } else {
    try {
      if (m.streaming && !req.body_stream) {
        // The body was read whole (handler tests, small requests): stream it from memory.
        Request streamed = req;
        std::istringstream whole(req.body);
        whole.exceptions(std::ios::badbit);
        streamed.body_stream = &whole;
        if (streamed.content_length == 0) streamed.content_length = req.body.size();
        res = (*m.handler)(streamed, m.params);
      } else {
        res = (*m.handler)(req, m.params);
      }
    } catch (...) {
      res = error_response(std::current_exception());
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.observe(m.route.empty() ? "unmatched" : m.route, req.method, res.status, seconds);
  // Server-side failures are logged (one line each); the client's mistakes are only counted.
  if (res.status >= 500 && !stopping_)
    spdlog::error("{} {} -> {}: {}", req.method, path, res.status, res.body);
  return res;
}

std::string Service::render_metrics() {
  std::string out;
  metrics_.render(out);
  out += "# HELP engram_memory_slots Live slots per memory.\n# TYPE engram_memory_slots gauge\n";
  for (const std::string& name : db_->list_memories()) {
    try {
      out += "engram_memory_slots{memory=\"" + prom_label(name) + "\"} " +
             std::to_string(db_->memory(name)->stats().slots) + "\n";
    } catch (const Error&) {
      // Dropped while we were listing: leave it out.
    }
  }
  out += "# HELP engram_disk_bytes Bytes the database occupies on disk.\n# TYPE engram_disk_bytes gauge\n";
  out += "engram_disk_bytes " + std::to_string(db_->disk_bytes()) + "\n";
  if (connections_) {
    out += "# HELP engram_http_connections Open client connections.\n# TYPE engram_http_connections gauge\n";
    out += "engram_http_connections " + std::to_string(connections_()) + "\n";
  }
  return out;
}

}  // namespace engram::server
