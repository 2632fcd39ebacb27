// e2e_support.h — what the end-to-end tests share: a real server on an ephemeral loopback port,
// and a raw TCP connection for the tests that must misbehave at the byte level.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <engram/engram.h>
#include <engram/remote_memory.h>
#include <engram/server.h>

#include "test_support.h"

namespace engram::e2e {

using server::testing::TempDir;
using Clock = std::chrono::steady_clock;

// A server on an ephemeral port over a temporary folder.
struct TestServer {
  explicit TestServer(server::ServerOptions o = {}, const std::string& data_dir = {}) {
    o.data_dir = data_dir.empty() ? dir.path() : data_dir;
    o.port = 0;
    if (o.threads == 0) o.threads = 4;
    srv = std::make_unique<server::Server>(o);
  }
  RemoteOptions remote(const std::string& token = {}) const {
    RemoteOptions r;
    r.port = srv->port();
    r.token = token;
    return r;
  }
  TempDir dir;
  std::unique_ptr<server::Server> srv;
};

// A raw TCP connection, for the tests that must misbehave at the byte level.
class RawSocket {
 public:
  explicit RawSocket(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawSocket() { close(); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;
  // Drops the connection now (a client that dies mid-request).
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool connected() const { return connected_; }
  bool send(const std::string& s) { return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
  // Waits up to `timeout_ms` for bytes and appends up to `max` of them to received(). False once
  // the peer has closed (or reset) the connection; true otherwise, bytes or not.
  bool receive_some(int timeout_ms, std::size_t max = 4096) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, std::max(0, timeout_ms)) <= 0) return true;
    std::string buf(max, '\0');
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) reset_ = errno == ECONNRESET;
    if (n <= 0) return false;
    received_.append(buf.data(), n);
    return true;
  }
  // True once the peer closed (or reset) the connection; waits up to `timeout_ms`.
  bool closed_within(int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline)
      if (!receive_some(ms_until(deadline))) return true;
    return false;
  }
  // Reads until the received bytes contain `text` (true) or the connection closes or
  // `timeout_ms` passes (false).
  bool wait_for(const std::string& text, int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (received_.find(text) == std::string::npos && Clock::now() < deadline)
      if (!receive_some(std::min(50, ms_until(deadline)))) break;
    return received_.find(text) != std::string::npos;
  }
  // Reads until the connection closes or `timeout_ms` passes.
  std::string read_all(int timeout_ms) {
    closed_within(timeout_ms);
    return received_;
  }
  // Everything received so far; buffer() lets a parser consume it from the front.
  const std::string& received() const { return received_; }
  std::string& buffer() { return received_; }
  // Whether the connection ended with a reset (RST) rather than an orderly close.
  bool was_reset() const { return reset_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
  bool reset_ = false;

  static int ms_until(Clock::time_point deadline) {
    return static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
  }
};

// Polls `done` every 20 ms for up to `timeout_ms`.
inline bool wait_until(const std::function<bool()>& done, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// Ingest tests: memory "m" of `dim`-float keys and values, searched exactly (Flat).
inline std::shared_ptr<Memory> make_ingest_memory(server::Server& srv, std::size_t dim) {
  MemoryConfig c;
  c.key_dim = c.value_dim = static_cast<int>(dim);
  c.index = "Flat";
  return srv.database().create_memory("m", c);
}

// Ingest bodies. Binary records (ingest/stream_source.h): key, value, u32 payload length,
// payload; records first..first+n-1, each key and value of `dim` floats (value[0] holds the
// record number, the payload is "r<number>").
inline std::string binary_rows(std::size_t first, std::size_t n, std::size_t dim) {
  std::string out;
  std::vector<float> row(dim);
  const std::size_t row_bytes = dim * sizeof(float);
  for (std::size_t i = first; i < first + n; ++i) {
    for (std::size_t d = 0; d < dim; ++d) row[d] = static_cast<float>((i * 31 + d * 7) % 1009) / 1009.0f;
    out.append(reinterpret_cast<const char*>(row.data()), row_bytes);  // key
    row[0] = static_cast<float>(i);
    out.append(reinterpret_cast<const char*>(row.data()), row_bytes);  // value
    const std::string payload = "r" + std::to_string(i);
    const auto len = static_cast<std::uint32_t>(payload.size());
    out.append(reinterpret_cast<const char*>(&len), sizeof len);
    out += payload;
  }
  return out;
}

// One chunk of a chunked body.
inline std::string chunk(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

// The header of a chunked binary upload to `target` that asks to close after the answer.
inline std::string upload_header(const std::string& target) {
  return "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
         "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
}

}  // namespace engram::e2e
