// http_client.h — a small blocking HTTP/1.1 client with a keep-alive connection pool.
//
// Each pooled connection owns its own io_context, so a request is plain blocking code for the
// calling thread while Beast's async operations give it real timeouts (blocking socket calls
// have none). Any number of threads may call request() at once; each takes its own connection.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <engram/remote_memory.h>

namespace engram::detail {

struct HttpResult {
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  explicit HttpClient(const RemoteOptions& options);
  ~HttpClient();

  // Sends one request and returns the response. Throws engram::Error(kUnavailable) when the
  // server cannot be reached or does not answer in time; HTTP error statuses are returned.
  HttpResult request(const std::string& method, const std::string& target,
                     const std::string& body = {},
                     const std::string& content_type = "application/json");

  const RemoteOptions& options() const { return options_; }

 private:
  struct Connection;
  std::unique_ptr<Connection> acquire();
  void release(std::unique_ptr<Connection> conn);

  RemoteOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace engram::detail
