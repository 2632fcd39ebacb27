// http_server.cc — the network layer: Boost.Beast sessions feeding Service::handle().
//
// One Session per connection, on its own strand, so a connection's reads, handling and writes
// never run concurrently while different connections run on all `threads` threads. Each request
// is read in three timed steps, which is what cuts off slow clients:
//   1. wait for its first byte        — idle_timeout   (keep-alive connections that went quiet)
//   2. read the whole header          — header_timeout (a client sending a byte a second)
//   3. read the body                  — body_timeout, bounded by the route's body limit
// The header is checked (framing, auth, route, content type, size, the body budget) before the
// body is read, so a refused upload is not read at all. A streaming route (POST …/ingest) is not
// read whole: its handler runs on a thread of its own and reads the body through a BodyPipe
// while this session feeds the pipe a piece at a time, pausing when it is full (so an upload of
// any size takes bounded memory, and a slow consumer slows the client down through TCP). The
// request is then handled inline on the strand: handlers are CPU-bound (FAISS, RocksDB) and the
// io threads are the request thread pool.
//
// Closing: a connection that closes after an answer closes gracefully ("lingering close", see
// linger_close()), so that input the client is still sending cannot make the kernel reset the
// connection and destroy an answer the client has not read yet.
//
// Memory: the bodies of ordinary routes are held whole, so they are charged to a server-wide
// budget (ServerOptions::max_inflight_body_bytes) from their header until their answer.
//
// Shutdown: the acceptor closes, uploads still streaming are failed (their clients get 503),
// connections waiting for a request are closed, requests being handled finish and their
// responses go out with "Connection: close".
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <omp.h>

#include <engram/database.h>
#include <engram/error.h>
#include <engram/server.h>
#include <engram/version.h>
#include <spdlog/spdlog.h>

#include "access_log.h"
#include "body_pipe.h"
#include "errors.h"
#include "service.h"

namespace engram::server {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {
// "engram/0.1.0" on every answer (RFC 9110 §10.2.4: product/version).
const std::string kServerHeader = std::string("engram/") + version();
}  // namespace
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

// At most this much input is read and dropped so that an answer reaches a client that is still
// sending: the rest of a body its handler did not read, or what follows a closing answer.
constexpr std::size_t kDrainBytes = 64u << 20;
// How long a closing connection waits for the client to stop sending (at shutdown: less).
constexpr double kLingerSeconds = 2, kLingerSecondsStopping = 0.5;

// RFC 9112 §6: the length of a request's body must be unambiguous. Beast refuses some conflicts
// itself (Content-Length after chunked, chunked twice); this refuses the rest, and the transfer
// codings Beast would silently ignore (it decodes chunked alone).
std::optional<Response> check_framing(const http::fields& fields) {
  if (fields.count(http::field::transfer_encoding) == 0) return std::nullopt;
  if (fields.count(http::field::content_length) > 0)
    return make_error(400, "bad_request",
                      "a request may not have both Content-Length and Transfer-Encoding");
  std::vector<std::string> codings;
  const auto fields_te = fields.equal_range(http::field::transfer_encoding);
  for (auto field = fields_te.first; field != fields_te.second; ++field)
    for (const auto coding : http::token_list(field->value()))
      codings.emplace_back(coding.data(), coding.size());
  const auto is_chunked = [](const std::string& c) { return beast::iequals(c, "chunked"); };
  if (std::count_if(codings.begin(), codings.end(), is_chunked) != 1 || !is_chunked(codings.back()))
    return make_error(400, "bad_request", "Transfer-Encoding must end in chunked, once");
  if (codings.size() > 1)
    return make_error(501, "not_implemented",
                      "transfer codings other than chunked are not supported: send the body chunked "
                      "or with a Content-Length");
  return std::nullopt;
}

class Session;

// What the sessions share with the server.
struct Core {
  ServerOptions options;
  std::unique_ptr<Service> service;
  std::mutex mu;
  std::condition_variable cv;
  std::map<Session*, std::weak_ptr<Session>> sessions;
  // Bodies being streamed to handler threads; at shutdown the ones still running are failed,
  // and the server waits for their handlers before closing the database.
  std::set<std::shared_ptr<BodyPipe>> streams;
  bool streams_closed = false;
  // Bytes of request bodies charged to options.max_inflight_body_bytes (see BodyReservation).
  std::atomic<std::size_t> inflight_body_bytes{0};

  std::size_t connections() {
    std::lock_guard<std::mutex> lock(mu);
    return sessions.size();
  }

  void stream_started(const std::shared_ptr<BodyPipe>& pipe) {
    std::lock_guard<std::mutex> lock(mu);
    if (streams_closed) pipe->fail(shutting_down());
    streams.insert(pipe);
  }
  void stream_finished(const std::shared_ptr<BodyPipe>& pipe) {
    std::lock_guard<std::mutex> lock(mu);
    streams.erase(pipe);
    cv.notify_all();
  }
  // Fails every running stream (their handlers undo their loads and answer 503) and every one
  // started from now on.
  void fail_streams() {
    std::lock_guard<std::mutex> lock(mu);
    streams_closed = true;
    for (const auto& pipe : streams) pipe->fail(shutting_down());
  }
  // Waits until the handlers of failed streams have returned.
  void wait_for_streams() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [this] { return streams.empty(); });
  }

  // Charges `bytes` to the in-flight body budget; false (nothing charged) when it has no room.
  bool reserve_body_bytes(std::size_t bytes) {
    const std::size_t budget = options.max_inflight_body_bytes;
    std::size_t used = inflight_body_bytes.load();
    do {
      if (budget > 0 && (bytes > budget || used > budget - bytes)) return false;
    } while (!inflight_body_bytes.compare_exchange_weak(used, used + bytes));
    return true;
  }
  void release_body_bytes(std::size_t bytes) { inflight_body_bytes -= bytes; }

  static std::exception_ptr shutting_down() {
    return std::make_exception_ptr(Error(ErrorCode::kUnavailable, "the server is shutting down"));
  }
};

// The share of the in-flight body budget one request holds. Released when the request is
// answered and, failing that, when the session goes away, so every way a request can end
// (answered, refused, timed out, connection lost) gives it back.
class BodyReservation {
 public:
  explicit BodyReservation(Core& core) : core_(core) {}
  ~BodyReservation() { reset(); }
  BodyReservation(const BodyReservation&) = delete;
  BodyReservation& operator=(const BodyReservation&) = delete;

  // Grows the share to `bytes`; false (the share unchanged) when the budget has no room.
  bool grow_to(std::size_t bytes) {
    if (bytes <= held_) return true;
    if (!core_.reserve_body_bytes(bytes - held_)) return false;
    held_ = bytes;
    return true;
  }
  void reset() {
    core_.release_body_bytes(held_);
    held_ = 0;
  }

 private:
  Core& core_;
  std::size_t held_ = 0;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Core& core)
      : stream_(std::move(socket)), core_(core), reservation_(core) {}

  ~Session() {
    if (!registered_) return;
    std::lock_guard<std::mutex> lock(core_.mu);
    core_.sessions.erase(this);
    core_.cv.notify_all();
  }

  void start() {
    {
      std::lock_guard<std::mutex> lock(core_.mu);
      core_.sessions[this] = weak_from_this();
      registered_ = true;
    }
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->wait_request(); });
  }

  // Answers 503 and closes: the server is at max_connections.
  void reject() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->refuse(503, "unavailable", "too many connections");
    });
  }

  // Shutdown: close now unless a request is being handled or answered; an answer waiting for
  // the rest of a body it did not need (finish_stream) goes out now.
  void stop() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->stopping_ = true;
      if (self->state_ == State::kReading) self->stream_.socket().close();
      else if (self->answered_ && self->reading_) self->stream_.cancel();
    });
  }

 private:
  enum class State { kReading, kBusy, kLingering };

  bool stopping() const { return stopping_ || core_.service->stopping(); }

  void wait_request() {
    state_ = State::kReading;
    if (stopping()) return linger_close();  // the client may have pipelined more requests
    if (buffer_.size() > 0) return read_header();  // a pipelined request is already here
    stream_.expires_after(ms(core_.options.idle_timeout_s));
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->close();
                              self->buffer_.commit(n);
                              self->read_header();
                            });
  }

  void read_header() {
    request_ = Request{};
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    // The route's own limit is set once the target is known (on_header); until then the
    // parser must not refuse a Content-Length that an ingest may legitimately have.
    parser_->body_limit(std::max(core_.options.max_body_bytes, core_.options.max_ingest_bytes));
    stream_.expires_after(ms(core_.options.header_timeout_s));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(beast::error_code ec) {
    started_ = std::chrono::steady_clock::now();
    if (ec == http::error::header_limit) return refuse(431, "bad_request", "header too large");
    if (ec == http::error::body_limit)
      return refuse(413, "payload_too_large", "the announced body is too large");
    if (ec == beast::error::timeout) {
      spdlog::warn("closing a connection whose request header did not arrive within {} s",
                   core_.options.header_timeout_s);
      return close();
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof) return close();
    if (ec) return refuse(400, "bad_request", "malformed HTTP request: " + ec.message());

    auto& head = parser_->get();
    request_.method = std::string(head.method_string());
    request_.target = std::string(head.target());
    request_.content_type = std::string(head[http::field::content_type]);
    request_.authorization = std::string(head[http::field::authorization]);
    request_.if_none_match = std::string(head[http::field::if_none_match]);
    request_.keep_alive = head.keep_alive();
    request_.expects_body = parser_->chunked() || parser_->content_length().value_or(0) > 0;

    if (auto refusal = check_framing(head)) return refuse(std::move(*refusal));
    // A refused request whose body is not read must end the connection; one without a body
    // leaves it usable.
    if (auto refusal = core_.service->check_head(request_)) {
      core_.service->count_refusal(request_, *refusal);
      return respond(std::move(*refusal), request_.expects_body);
    }
    const std::size_t limit = core_.service->body_limit(request_);
    if (parser_->content_length().value_or(0) > limit)
      return refuse(413, "payload_too_large",
                    "the body exceeds " + std::to_string(limit) + " bytes");
    parser_->body_limit(limit);
    request_.content_length = parser_->content_length().value_or(0);
    streaming_ = core_.service->streams(request_);
    // Streamed bodies pass through bounded buffers (the pipe): only bodies held whole are charged.
    if (!streaming_ && !reservation_.grow_to(request_.content_length))
      return refuse(budget_refusal());

    stream_.expires_after(ms(core_.options.body_timeout_s));
    if (beast::iequals(head[http::field::expect], "100-continue")) {
      // curl asks before uploading large bodies; without this it waits a second per request.
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue, sizeof kContinue - 1),
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) return self->close();
                         self->begin_body();
                       });
      return;
    }
    begin_body();
  }

  Response budget_refusal() const {
    Response r = make_error(503, "unavailable",
                            "the server's budget for request bodies in flight (" +
                                std::to_string(core_.options.max_inflight_body_bytes) +
                                " bytes, --max-inflight-body-bytes) is taken; retry shortly");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }

  // Why reading a body failed, as the client is told: the client's doing, so a 4xx (not logged
  // as a server error).
  HttpError body_failure(beast::error_code ec) const {
    if (ec == http::error::body_limit)
      return HttpError(413, "payload_too_large", "the body exceeds " +
                       std::to_string(core_.service->body_limit(request_)) + " bytes");
    if (ec == beast::error::timeout)
      return HttpError(408, "request_timeout", "the request body stopped arriving");
    if (ec == http::error::partial_message || ec == net::error::eof ||
        ec == net::error::connection_reset)
      return HttpError(400, "bad_request", "the request body was cut off (" + ec.message() + ")");
    return HttpError(400, "bad_request", "malformed request body: " + ec.message());
  }

  void begin_body() { streaming_ ? start_stream() : read_body(); }

  // ---- streaming routes: the body goes through a BodyPipe to a handler thread.
  void start_stream() {
    state_ = State::kBusy;  // like a request being handled: shutdown lets it finish
    answered_ = body_done_ = body_complete_ = reading_ = false;
    drained_ = 0;
    body_parser_.emplace(std::move(*parser_));
    parser_.reset();
    body_parser_->body_limit(core_.service->body_limit(request_));
    pipe_ = std::make_shared<BodyPipe>(kPipeBytes);
    piece_.resize(256 * 1024);
    pipe_->set_on_room([weak = weak_from_this()] {
      if (auto self = weak.lock())
        net::post(self->stream_.get_executor(), [self] { self->read_body_piece(); });
    });
    core_.stream_started(pipe_);
    std::thread([self = shared_from_this(), pipe = pipe_, req = request_]() mutable {
      Core& core = self->core_;
      if (core.options.omp_threads > 0) omp_set_num_threads(core.options.omp_threads);
      Response res;
      {
        BodyStreambuf buf(*pipe);
        std::istream in(&buf);
        in.exceptions(std::ios::badbit);  // a failed body surfaces as the pipe's error
        req.body_stream = &in;
        res = core.service->handle(req);
      }
      pipe->abandon();
      net::post(self->stream_.get_executor(),
                [self, res = std::move(res)]() mutable { self->finish_stream(std::move(res)); });
      self.reset();  // the session may end here: before the server may go away below
      core.stream_finished(pipe);
    }).detach();
    read_body_piece();
  }

  void read_body_piece() {
    if (reading_ || body_done_) return;
    reading_ = true;
    auto& body = body_parser_->get().body();
    body.data = piece_.data();
    body.size = piece_.size();
    body.more = true;
    stream_.expires_after(ms(core_.options.body_timeout_s));  // per piece: an upload may be long
    http::async_read_some(stream_, buffer_, *body_parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            self->on_body_piece(ec);
                          });
  }

  void on_body_piece(beast::error_code ec) {
    reading_ = false;
    if (ec == http::error::need_buffer) ec = {};
    const std::size_t got = ec ? 0 : piece_.size() - body_parser_->get().body().size;
    if (ec || body_parser_->is_done()) {
      body_done_ = true;
      body_complete_ = !ec;
    }
    if (answered_) return drain_body(got);
    if (ec) {
      if (ec == beast::error::timeout)
        spdlog::warn("closing a connection whose request body stopped arriving for {} s",
                     core_.options.body_timeout_s);
      return pipe_->fail(std::make_exception_ptr(body_failure(ec)));
    }
    const bool room = pipe_->write(std::string_view(piece_.data(), got));
    if (body_complete_) return pipe_->close();
    if (room) read_body_piece();  // otherwise the pipe's on_room resumes the reading
  }

  // The handler returned. If it did not read its body to the end, the rest is read and dropped
  // before the answer goes out (drain_body): a client that sends its whole body before reading
  // would otherwise meet a reset connection instead of the answer.
  void finish_stream(Response res) {
    answered_ = true;
    answer_ = std::move(res);
    pipe_.reset();
    if (!reading_) return drain_body(0);
    if (stopping()) stream_.cancel();  // a read is pending: it brings us to drain_body at once
  }

  // Drops `got` more bytes of an answered request's body; answers once the body is complete, or
  // (closing the connection) once it failed, outgrew kDrainBytes or the server is stopping.
  void drain_body(std::size_t got) {
    drained_ += got;
    if (body_done_) return respond(std::move(answer_), !body_complete_);
    if (stopping() || drained_ > kDrainBytes) return respond(std::move(answer_), true);
    read_body_piece();
  }

  // ---- other routes: the body is read whole, a piece at a time so that a chunked body is
  // charged to the budget as it grows (one with a Content-Length was charged at its header).
  void read_body() {
    if (parser_->is_done()) return handle_request();
    http::async_read_some(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            self->on_body(ec);
                          });
  }

  void on_body(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      spdlog::warn("closing a connection whose request body did not arrive within {} s",
                   core_.options.body_timeout_s);
      return close();
    }
    if (ec == net::error::operation_aborted) return close();  // stop() closed the connection
    if (ec) {
      const HttpError why = body_failure(ec);
      return refuse(why.status(), why.code(), why.what());
    }
    if (!reservation_.grow_to(parser_->get().body().size())) return refuse(budget_refusal());
    read_body();
  }

  void handle_request() {
    state_ = State::kBusy;
    request_.body = std::move(parser_->get().body());
    Response res = core_.service->handle(request_);
    respond(std::move(res), false);
  }

  // Answers a request the network layer refuses (counted under the route "transport") and
  // closes: the rest of the request was not read.
  void refuse(Response r) {
    core_.service->count_refusal(request_, r, "transport");
    respond(std::move(r), true);
  }
  void refuse(int status, const std::string& code, const std::string& message) {
    refuse(make_error(status, code, message));
  }

  // Sends `r`; `force_close` when the rest of the request was not read.
  void respond(Response r, bool force_close) {
    state_ = State::kBusy;
    release_body();
    if (!core_.options.access_log.empty()) log_request(r);
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), 11);
    res->set(http::field::server, kServerHeader);
    if (!r.content_type.empty()) res->set(http::field::content_type, r.content_type);
    // On every answer, refusals included: a browser shows its script only answers that carry it.
    if (!core_.options.cors_origin.empty())
      res->set(http::field::access_control_allow_origin, core_.options.cors_origin);
    for (auto& [name, value] : r.headers) res->set(name, value);
    res->body() = std::move(r.body);
    const bool keep = !force_close && !r.close && request_.keep_alive && !stopping();
    res->keep_alive(keep);
    res->prepare_payload();
    // RFC 9110 §9.3.2: HEAD gets the header GET would get, Content-Length included, and no content.
    if (request_.method == "HEAD") res->body().clear();
    stream_.expires_after(ms(core_.options.body_timeout_s));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        if (!keep) return self->linger_close();
                        self->wait_request();
                      });
  }

  void log_request(const Response& r) {
    AccessRecord a;
    a.method = request_.method.empty() ? "-" : request_.method;
    a.path = request_.method.empty() ? "-" : request_.path();
    a.route = request_.method.empty() ? "transport" : core_.service->route_of(request_);
    a.status = r.status;
    a.bytes = request_.method == "HEAD" ? 0 : r.body.size();
    a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    a.client = ec ? "-" : peer.address().to_string() + ":" + std::to_string(peer.port());
    log_access(a, core_.options.access_log);
  }

  // The request's body is no longer held: its memory and its share of the budget go back.
  void release_body() {
    std::string().swap(request_.body);
    reservation_.reset();
  }

  // Closes after a final answer without losing it. Closing a socket with unread input makes the
  // kernel reset the connection, and a reset destroys whatever of the answer the client has not
  // read yet. So: shut the send side (the client sees the end of the answer), read and drop what
  // the client still sends until it closes its side — at most kDrainBytes, for at most
  // kLingerSeconds in all — then close.
  void linger_close() {
    state_ = State::kLingering;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    drained_ = 0;
    buffer_.consume(buffer_.size());
    stream_.expires_after(ms(stopping() ? kLingerSecondsStopping : kLingerSeconds));
    discard_input();
  }

  void discard_input() {
    stream_.async_read_some(buffer_.prepare(64 * 1024),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kDrainBytes) return self->close();
                              self->discard_input();
                            });
  }

  // Closes now (after timeouts and errors: nothing is owed to the client).
  void close() {
    release_body();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  Core& core_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;
  BodyReservation reservation_;
  // Streaming routes.
  static constexpr std::size_t kPipeBytes = 8u << 20;
  bool streaming_ = false, answered_ = false, body_done_ = false, body_complete_ = false;
  bool reading_ = false;   // a read of a streamed body is pending
  Response answer_;        // the handler's answer, while the rest of its body is drained
  std::size_t drained_ = 0;  // bytes dropped: of a body (drain_body) or after an answer (linger)
  std::optional<http::request_parser<http::buffer_body>> body_parser_;
  std::shared_ptr<BodyPipe> pipe_;
  std::vector<char> piece_;  // the read buffer for body pieces (allocated by the first stream)
  State state_ = State::kReading;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();  // its header arrived
  bool stopping_ = false;
  bool registered_ = false;
};

}  // namespace

struct Server::Impl {
  Core core;
  net::io_context ioc;
  // The io threads run until stop() stops them. Without this, run() returns as soon as no
  // operation is pending — during shutdown, once the acceptor is closed and the last socket
  // operation is done — and what is posted after that (a session's stop(), an upload handler's
  // answer) never runs: the session it holds stays registered and stop() waits its whole grace.
  net::executor_work_guard<net::io_context::executor_type> keep_running = net::make_work_guard(ioc);
  // The acceptor lives on a strand: its accept handler (any io thread) and stop()'s close must
  // not touch it at the same time.
  net::strand<net::io_context::executor_type> accept_strand = net::make_strand(ioc);
  tcp::acceptor acceptor{accept_strand};
  std::vector<std::thread> threads;
  std::uint16_t port = 0;
  std::mutex stop_mu;
  bool stopped = false;
  std::mutex wait_mu;
  std::condition_variable wait_cv;

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec != net::error::operation_aborted) spdlog::error("accept failed: {}", ec.message());
        if (!acceptor.is_open()) return;
        return accept();
      }
      if (core.service->stopping()) return;  // closes the socket
      auto session = std::make_shared<Session>(std::move(socket), core);
      if (core.connections() >= core.options.max_connections) session->reject();
      else session->start();
      accept();
    });
  }
};

Server::Server(const ServerOptions& options) : impl_(std::make_unique<Impl>()) {
  Impl& im = *impl_;
  im.core.options = options;
  if (im.core.options.threads <= 0)
    im.core.options.threads = std::max(1u, std::thread::hardware_concurrency());
  im.core.service = std::make_unique<Service>(Database::open(options.data_dir, options.database), im.core.options);
  im.core.service->set_connection_gauge([core = &im.core] { return core->connections(); });

  try {
    tcp::endpoint endpoint(net::ip::make_address(options.host), options.port);
    im.acceptor.open(endpoint.protocol());
    im.acceptor.set_option(net::socket_base::reuse_address(true));
    im.acceptor.bind(endpoint);
    im.acceptor.listen(net::socket_base::max_listen_connections);
    im.port = im.acceptor.local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    throw Error(ErrorCode::kUnavailable,
                "cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " + e.what());
  }
  im.accept();
  for (int i = 0; i < im.core.options.threads; ++i)
    im.threads.emplace_back([&im] {
      // Per thread: OpenMP's thread count is an attribute of the calling thread.
      if (im.core.options.omp_threads > 0) omp_set_num_threads(im.core.options.omp_threads);
      im.ioc.run();
    });
  spdlog::info("engram server listening on {}:{} (data {}, {} threads, {} OpenMP threads each{})", options.host,
               im.port, options.data_dir, im.core.options.threads,
               im.core.options.omp_threads > 0 ? std::to_string(im.core.options.omp_threads) : "default",
               options.token.empty() ? "" : ", token required");
}

Server::~Server() {
  stop();
  impl_->core.service.reset();  // closes the database: checkpoints every index
  spdlog::info("engram server stopped; database closed");
}

std::uint16_t Server::port() const { return impl_->port; }
const ServerOptions& Server::options() const { return impl_->core.options; }
Database& Server::database() { return impl_->core.service->database(); }

void Server::stop() {
  Impl& im = *impl_;
  {
    std::lock_guard<std::mutex> lock(im.stop_mu);
    if (im.stopped) return;
    im.stopped = true;
  }
  spdlog::info("engram server stopping: finishing in-flight requests");
  im.core.service->set_stopping();
  net::post(im.accept_strand, [&im] {
    beast::error_code ec;
    im.acceptor.close(ec);
  });
  // Uploads are cut first: nothing else would end one whose client sends slowly, and their
  // clients get their 503 while the other requests finish.
  im.core.fail_streams();
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard<std::mutex> lock(im.core.mu);
    for (auto& [ptr, weak] : im.core.sessions)
      if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) s->stop();
  live.clear();
  {
    std::unique_lock<std::mutex> lock(im.core.mu);
    bool drained = im.core.cv.wait_for(lock, ms(im.core.options.shutdown_grace_s),
                                       [&im] { return im.core.sessions.empty(); });
    if (!drained) spdlog::error("{} connections still busy after {} s; cutting them",
                                im.core.sessions.size(), im.core.options.shutdown_grace_s);
  }
  im.ioc.stop();
  for (auto& t : im.threads)
    if (t.joinable()) t.join();
  im.threads.clear();
  // The database closes only after the handlers of the failed uploads have returned (they undo
  // what they had loaded).
  im.core.wait_for_streams();
  {
    std::lock_guard<std::mutex> lock(im.wait_mu);
    im.wait_cv.notify_all();
  }
}

void Server::run_until_signal() {
  // A separate io_context, so the signal wait does not depend on the request threads.
  net::io_context signals_ioc;
  net::signal_set signals(signals_ioc, SIGINT, SIGTERM);
  signals.async_wait([](beast::error_code ec, int signo) {
    if (!ec) spdlog::info("received signal {}", signo);
  });
  // Also return when stop() is called from elsewhere.
  std::thread watcher([this, &signals_ioc] {
    std::unique_lock<std::mutex> lock(impl_->wait_mu);
    impl_->wait_cv.wait(lock, [this] {
      std::lock_guard<std::mutex> l(impl_->stop_mu);
      return impl_->stopped;
    });
    signals_ioc.stop();
  });
  signals_ioc.run();
  stop();
  watcher.join();
}

}  // namespace engram::server
