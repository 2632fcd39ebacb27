#include "http_message.h"

#include "errors.h"

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

std::string Request::query_text(const std::string& key, const std::string& fallback) const {
  const std::string none = "\x01";  // no raw query value can hold it
  const std::string raw = query(key, none);
  if (raw == none) return fallback;
  auto hex = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw_bad_request("?" + key + "= holds a malformed %-escape");
  };
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '+') {
      out.push_back(' ');
    } else if (raw[i] == '%') {
      if (i + 2 >= raw.size()) throw_bad_request("?" + key + "= holds a malformed %-escape");
      out.push_back(static_cast<char>(hex(raw[i + 1]) * 16 + hex(raw[i + 2])));
      i += 2;
    } else {
      out.push_back(raw[i]);
    }
  }
  return out;
}

}  // namespace engram::server
