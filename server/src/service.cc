#include "service.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <sstream>

#include <engram/version.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "errors.h"
#include "snapshot_root.h"
#include "process_metrics.h"

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

bool equals_ignoring_case(const std::string& a, const std::string& b) {
  auto lower = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

// The token of "Authorization: Bearer <token>"; nothing for another scheme. The scheme is
// case-insensitive (RFC 9110 §11.1: "bearer" and "BEARER" are Bearer); the token is not.
std::optional<std::string> bearer_token(const std::string& authorization) {
  const auto space = authorization.find(' ');
  if (space == std::string::npos || !equals_ignoring_case(authorization.substr(0, space), "bearer"))
    return std::nullopt;
  const auto token = authorization.find_first_not_of(' ', space);
  return token == std::string::npos ? std::string() : authorization.substr(token);
}

// Compares without an early exit, so the time taken does not reveal how much of a guess matched.
bool equal_constant_time(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % (b.empty() ? 1 : b.size())];
  return diff == 0;
}
// The "code" of an error answer ({"error":{"code":...}}); "unknown" for any other body.
std::string error_code_of(const Response& r) {
  const nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_object() &&
      body["error"].value("code", nlohmann::json()).is_string())
    return body["error"]["code"].get<std::string>();
  return "unknown";
}
}  // namespace

Service::Service(std::unique_ptr<Database> db, const ServerOptions& options)
    : db_(std::move(db)), options_(options),
      snapshot_root_(server::snapshot_root(options.snapshot_root, db_->path())) {
  add_routes();
  // Default snapshots (handlers_admin.cc) get a new name each time, so what a killed one left
  // is never retried to: clean it here.
  if (const std::size_t n = Database::remove_partial_snapshots(snapshot_root_))
    spdlog::info("removed {} partial snapshot(s) left in {}", n, snapshot_root_);
}

Service::~Service() = default;

void Service::add_routes() {
  add_admin_routes(router_, *this);
  add_memory_routes(router_, *this);
  add_slot_routes(router_, *this);
  add_op_routes(router_, *this);
  add_ingest_routes(router_, *this);
  if (options_.ui) add_ui_routes(router_);
  add_model_routes(router_, *this);
}

std::size_t Service::body_limit(const Request& req) const {
  if (is_ingest(req.path())) return options_.max_ingest_bytes;  // streams: not held whole
  // A body held whole must also fit the in-flight budget, or it could never be accepted.
  const std::size_t budget = options_.max_inflight_body_bytes;
  return budget > 0 ? std::min(options_.max_body_bytes, budget) : options_.max_body_bytes;
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

std::optional<bool> Service::query_flag(const Request& req, const std::string& key) {
  const std::string none = "\x01";  // no query value can hold it
  const std::string v = req.query(key, none);
  if (v == none) return std::nullopt;
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  throw HttpError(400, "bad_request", "?" + key + "= must be true or false, not \"" + v + "\"");
}

void Service::check_answer(std::size_t numbers, bool base64) const {
  const std::size_t per_number = base64 ? 12 : 40;
  if (numbers <= options_.max_answer_bytes / per_number) return;
  throw HttpError(413, "answer_too_large",
                  "the answer would hold " + std::to_string(numbers) + " numbers (about " +
                      std::to_string(numbers / (std::size_t{1} << 20) * per_number) +
                      " MiB to build" + (base64 ? "" : " as JSON") + "), over the server's " +
                      std::to_string(options_.max_answer_bytes >> 20) +
                      " MiB limit: ask for fewer queries or a smaller k" +
                      (base64 ? "" : ", or use \"encoding\":\"base64\""));
}

Fields Service::decode(const Request& req, const Schema& schema) const {
  return decode_body(req.body, schema, options_.max_batch);
}

std::optional<Response> Service::check_head(const Request& req) const {
  const std::string path = req.path();
  if (stopping_) return make_error(503, "unavailable", "the server is shutting down");
  if (is_preflight(req)) {
    // A CORS preflight carries no credentials (Fetch standard), so it is answered without the
    // token; it only says what the path allows.
    if (router_.match(req.method, path).allow.empty()) return make_error(404, "not_found", "no route for " + path);
    return std::nullopt;
  }
  // Health stays open so that a load balancer needs no token; the console's files hold no data
  // (the page asks for the token and sends it with its API calls).
  const bool open = path == "/v1/health" || (options_.ui && is_ui_path(path));
  if (!options_.token.empty() && !open) {
    if (req.authorization.empty())
      return make_error(401, "unauthenticated", "this server needs \"Authorization: Bearer <token>\"");
    const auto token = bearer_token(req.authorization);
    if (!token || !equal_constant_time(*token, options_.token))
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
    metrics_.refused(error_code_of(res));
  } else if (is_preflight(req)) {
    res.status = 204;
    res.content_type.clear();
    res.headers = {{"Access-Control-Allow-Methods", m.allow + ", OPTIONS"},
                   {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                   {"Access-Control-Max-Age", "600"}};
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

bool Service::is_preflight(const Request& req) const {
  return req.method == "OPTIONS" && !options_.cors_origin.empty();
}

std::string Service::route_of(const Request& req) const {
  std::string route = router_.match(req.method, req.path()).route;
  return route.empty() ? "unmatched" : route;
}

void Service::count_refusal(const Request& req, const Response& refusal, const std::string& route) {
  metrics_.observe(route.empty() ? route_of(req) : route, req.method.empty() ? "-" : req.method, refusal.status, 0);
  metrics_.refused(error_code_of(refusal));
}

std::string Service::render_metrics() {
  std::string out;
  // Prometheus's build-info convention: a constant 1 whose labels say what is running.
  out += "# HELP engram_build_info The Engram version and git commit serving, as labels.\n";
  out += "# TYPE engram_build_info gauge\n";
  out += std::string("engram_build_info{version=\"") + prom_label(version()) + "\",commit=\"" +
         prom_label(git_commit()) + "\"} 1\n";
  metrics_.render(out);
  // Per memory: slots, and the op-log records past its index checkpoint (what opening it after
  // a crash would replay). A memory that cannot be opened is reported, not fatal to the scrape.
  std::string slots, replay, tombstones, index_bytes, store_bytes, checkpoint_age, unavailable;
  for (const std::string& name : db_->list_memories()) {
    const std::string label = "{memory=\"" + prom_label(name) + "\"} ";
    try {
      const MemoryStats s = db_->memory(name)->stats();
      slots += "engram_memory_slots" + label + std::to_string(s.slots) + "\n";
      replay += "engram_memory_replay_ops" + label + std::to_string(s.op_seq - s.checkpoint_op_seq) + "\n";
      tombstones += "engram_memory_tombstones" + label + std::to_string(s.tombstones) + "\n";
      index_bytes += "engram_memory_index_bytes" + label + std::to_string(s.index_bytes) + "\n";
      store_bytes += "engram_memory_store_bytes" + label + std::to_string(s.store_bytes) + "\n";
      checkpoint_age += "engram_memory_checkpoint_age_seconds" + label + std::to_string(s.checkpoint_age_s) + "\n";
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kNotFound) unavailable += "engram_memory_unavailable" + label + "1\n";
      // kNotFound: dropped while we were listing; leave it out.
    }
  }
  out += "# HELP engram_memory_slots Live slots per memory.\n# TYPE engram_memory_slots gauge\n" + slots;
  out += "# HELP engram_memory_replay_ops Op-log records past the memory's index checkpoint (replayed on open after a crash).\n"
         "# TYPE engram_memory_replay_ops gauge\n" + replay;
  out += "# HELP engram_memory_tombstones Erased entries the index still holds (HNSW; compact drops them).\n"
         "# TYPE engram_memory_tombstones gauge\n" + tombstones;
  out += "# HELP engram_memory_index_bytes Size of the memory's index checkpoint on disk.\n"
         "# TYPE engram_memory_index_bytes gauge\n" + index_bytes;
  out += "# HELP engram_memory_store_bytes About how many bytes the memory's records take in RocksDB (files and memtables).\n"
         "# TYPE engram_memory_store_bytes gauge\n" + store_bytes;
  out += "# HELP engram_memory_checkpoint_age_seconds Seconds since the memory's index checkpoint was written (or it was opened).\n"
         "# TYPE engram_memory_checkpoint_age_seconds gauge\n" + checkpoint_age;
  out += "# HELP engram_memory_unavailable Memories that cannot be opened (drop them).\n"
         "# TYPE engram_memory_unavailable gauge\n" + unavailable;
  out += "# HELP engram_storage_writable 1 while the database takes writes, 0 when it refuses them (disk full, failed write).\n"
         "# TYPE engram_storage_writable gauge\n";
  out += std::string("engram_storage_writable ") + (db_->read_only_reason().empty() ? "1" : "0") + "\n";
  out += "# HELP engram_disk_bytes Bytes the database occupies on disk.\n# TYPE engram_disk_bytes gauge\n";
  out += "engram_disk_bytes " + std::to_string(db_->disk_bytes()) + "\n";
  if (connections_) {
    out += "# HELP engram_http_connections Open client connections.\n# TYPE engram_http_connections gauge\n";
    out += "engram_http_connections " + std::to_string(connections_()) + "\n";
  }
  render_process_metrics(out);
  return out;
}

}  // namespace engram::server
