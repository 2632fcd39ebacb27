// service.h — the whole HTTP API as a plain function: Response handle(const Request&).
//
// The network layer (http_server.cc) only moves bytes; everything the API decides — auth,
// routing, content types, limits on batches, the JSON, the errors and the metrics — happens
// here, so tests can drive the API without a socket.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <engram/database.h>
#include <engram/server.h>

#include "body_decoder.h"
#include "http_message.h"
#include "metrics.h"
#include "router.h"

namespace engram::server {

class Service {
 public:
  Service(std::unique_ptr<Database> db, const ServerOptions& options);
  ~Service();

  // Answers a complete request. Never throws.
  Response handle(const Request& req);

  // The checks that need only the header (auth, route, content type, shutting down). Returns
  // the refusal, or nothing when the body should be read. handle() runs them too.
  std::optional<Response> check_head(const Request& req) const;

  // A CORS preflight (OPTIONS, with --cors-origin set): answered 204 with what the path allows.
  bool is_preflight(const Request& req) const;

  // The route pattern the request matches ("/v1/memories/{name}"), or "unmatched".
  std::string route_of(const Request& req) const;

  // The largest body accepted for this request's target.
  std::size_t body_limit(const Request& req) const;

  // Whether the request's route reads its body as it arrives (Request::body_stream).
  bool streams(const Request& req) const;

  // Marks memory `name` as being ingested into until the returned claim is released; throws
  // HttpError 409 when another ingest into it is running (a memory takes one bulk load at a time).
  std::shared_ptr<void> claim_ingest(const std::string& name);

  // From now on every request is answered 503 (in-flight ones finish normally).
  void set_stopping() { stopping_ = true; }
  bool stopping() const { return stopping_; }

  // Counts a request refused without reaching a handler: the network layer's own refusals (413,
  // 408, 503 at accept; route "transport") and check_head's when the network layer answers them
  // (route: the pattern the path matches). Both the request metrics and, by the answer's error
  // code, engram_http_refused_total.
  void count_refusal(const Request& req, const Response& refusal, const std::string& route = {});
  // Lets /v1/metrics report open connections.
  void set_connection_gauge(std::function<std::size_t()> gauge) { connections_ = std::move(gauge); }

  Database& database() { return *db_; }
  const ServerOptions& options() const { return options_; }
  const Router& router() const { return router_; }
  // Where snapshots made over HTTP go (snapshot_root.h): --snapshot-root, else <data>/snapshots.
  const std::string& snapshot_root() const { return snapshot_root_; }

  // Handler plumbing, used by the handlers_*.cc files.
  std::shared_ptr<Memory> memory(const std::string& name) { return db_->memory(name); }
  // Refuses (413 answer_too_large) an answer of `numbers` floats/ids that would take more than
  // --max-answer-bytes to build in this encoding; called before the memory does the work.
  void check_answer(std::size_t numbers, bool base64) const;
  // A true/false query parameter ("true"/"1", "false"/"0"); absent: nothing; else 400.
  static std::optional<bool> query_flag(const Request& req, const std::string& key);
  // Decodes the request's JSON body against `schema`, with this server's batch limit
  // (body_decoder.h).
  Fields decode(const Request& req, const Schema& schema) const;
  std::string render_metrics();

 private:
  void add_routes();

  std::unique_ptr<Database> db_;
  ServerOptions options_;
  std::string snapshot_root_;
  Router router_;
  Metrics metrics_;
  std::atomic<bool> stopping_{false};
  std::mutex ingest_mu_;
  std::set<std::string> ingesting_;
  std::function<std::size_t()> connections_;
};

// The media type without parameters, lower-cased: "application/json; charset=utf-8" -> "application/json".
std::string media_type(const std::string& content_type);

// Route registration, one function per resource (handlers_*.cc).
void add_admin_routes(Router& router, Service& service);
void add_memory_routes(Router& router, Service& service);
void add_slot_routes(Router& router, Service& service);
void add_op_routes(Router& router, Service& service);
void add_ingest_routes(Router& router, Service& service);
void add_ui_routes(Router& router);                          // handlers_ui.cc
void add_model_routes(Router& router, Service& service);     // handlers_model.cc

// Whether `path` is the console's (/ui and below): served without the token.
bool is_ui_path(const std::string& path);

}  // namespace engram::server
