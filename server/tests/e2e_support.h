// e2e_support.h — what the end-to-end tests share: a real server on an ephemeral loopback port,
// and a raw TCP connection for the tests that must misbehave at the byte level.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

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
  // True once the peer closed (or reset) the connection; waits up to `timeout_ms`.
  bool closed_within(int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    char buf[4096];
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      if (::poll(&p, 1, std::max(1, left)) <= 0) continue;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;
      received_.append(buf, n);
    }
    return false;
  }
  // Reads until the received bytes contain `text` (true) or the connection closes or
  // `timeout_ms` passes (false).
  bool wait_for(const std::string& text, int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    char buf[4096];
    while (received_.find(text) == std::string::npos && Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      received_.append(buf, n);
    }
    return received_.find(text) != std::string::npos;
  }
  // Reads until the connection closes or `timeout_ms` passes.
  std::string read_all(int timeout_ms) {
    closed_within(timeout_ms);
    return received_;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

}  // namespace engram::e2e
