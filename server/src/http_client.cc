#include "http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <limits>

#include <engram/error.h>

namespace engram::detail {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

struct HttpClient::Connection {
  net::io_context ioc{1};
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool connected = false;
  Clock::time_point last_used = Clock::now();

  // Runs the async operation started by `start` to completion on this connection's io_context.
  template <class Start>
  beast::error_code run(Start&& start) {
    beast::error_code result = net::error::would_block;
    start(result);
    ioc.restart();
    ioc.run();
    return result;
  }
};

HttpClient::HttpClient(const RemoteOptions& options) : options_(options) {}
HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient::Connection> HttpClient::acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      if (Clock::now() - conn->last_used < options_.pool_idle_timeout) return conn;
      // Too old: the server may have closed it; drop it (its destructor closes the socket).
    }
  }
  return std::make_unique<Connection>();
}

void HttpClient::release(std::unique_ptr<Connection> conn) {
  conn->last_used = Clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(conn));
}

HttpResult HttpClient::request(const std::string& method, const std::string& target,
                               const std::string& body, const std::string& content_type) {
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, where);
  req.set(http::field::user_agent, "engram-remote");
  if (!options_.token.empty()) req.set(http::field::authorization, "Bearer " + options_.token);
  if (!body.empty()) req.set(http::field::content_type, content_type);
  req.body() = body;
  req.keep_alive(true);
  req.prepare_payload();

  for (int attempt = 0;; ++attempt) {
    auto conn = acquire();
    const bool reused = conn->connected;
    if (!conn->connected) {
      beast::error_code ec;
      tcp::resolver resolver(conn->ioc);
      auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port), ec);
      if (ec) throw Error(ErrorCode::kUnavailable, "remote memory: cannot resolve " + where + ": " + ec.message());
      conn->stream.expires_after(options_.connect_timeout);
      ec = conn->run([&](beast::error_code& out) {
        conn->stream.async_connect(endpoints, [&out](beast::error_code e, const tcp::endpoint&) { out = e; });
      });
      if (ec)
        throw Error(ErrorCode::kUnavailable,
                    "remote memory: cannot connect to " + where + ": " + ec.message());
      conn->stream.socket().set_option(tcp::no_delay(true), ec);
      conn->connected = true;
    }

    conn->stream.expires_after(options_.request_timeout);
    beast::error_code ec = conn->run([&](beast::error_code& out) {
      http::async_write(conn->stream, req, [&out](beast::error_code e, std::size_t) { out = e; });
    });
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    std::size_t received = 0;
    if (!ec) {
      ec = conn->run([&](beast::error_code& out) {
        http::async_read(conn->stream, conn->buffer, parser,
                         [&out, &received](beast::error_code e, std::size_t n) { out = e; received = n; });
      });
    }
    if (ec) {
      // A reused connection the server closed while it sat in the pool fails before any byte of
      // a response: retry once on a fresh connection. Anything else is reported.
      bool stale = reused && attempt == 0 && received == 0 && !parser.got_some() &&
                   (ec == http::error::end_of_stream || ec == net::error::eof ||
                    ec == net::error::connection_reset || ec == net::error::broken_pipe);
      if (stale) continue;
      if (ec == beast::error::timeout)
        throw Error(ErrorCode::kUnavailable,
                    "remote memory: " + method + " " + target + " on " + where + " timed out after " +
                        std::to_string(options_.request_timeout.count()) + " ms (it may or may not have been applied)");
      throw Error(ErrorCode::kUnavailable,
                  "remote memory: " + method + " " + target + " on " + where + " failed: " + ec.message());
    }
    auto res = parser.release();
    HttpResult result{static_cast<int>(res.result_int()), std::move(res.body())};
    if (res.keep_alive()) release(std::move(conn));
    return result;
  }
}

}  // namespace engram::detail
