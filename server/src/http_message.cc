#include "http_message.h"

namespace engram::server {

std::string Request::path() const {
  auto q = target.find('?');
  return q == std::string::npos ? target : target.substr(0, q);
}

std::string Request::query(const std::string& key, const std::string& fallback) const {
  auto q = target.find('?');
  if (q == std::string::npos) return fallback;
  std::size_t pos = q + 1;
  while (pos <= target.size()) {
    std::size_t end = target.find('&', pos);
    if (end == std::string::npos) end = target.size();
    std::string item = target.substr(pos, end - pos);
    std::size_t eq = item.find('=');
    std::string k = item.substr(0, eq);
    if (k == key) return eq == std::string::npos ? std::string() : item.substr(eq + 1);
    pos = end + 1;
  }
  return fallback;
}

}  // namespace engram::server
