#include "metrics.h"

#include <cstdio>

namespace engram::server {

std::string prom_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  return out;
}

void Metrics::observe(const std::string& route, const std::string& method, int status,
                      double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  Series& s = series_[{route, method, status}];
  ++s.count;
  s.sum += seconds;
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) { ++s.buckets[i]; break; }
}

void Metrics::refused(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  ++refused_[reason];
}

void Metrics::render(std::string& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  char num[64];
  out += "# HELP engram_http_refused_total Requests refused before a handler ran, by reason (the error code answered).\n";
  out += "# TYPE engram_http_refused_total counter\n";
  for (const auto& [reason, n] : refused_)
    out += "engram_http_refused_total{reason=\"" + prom_label(reason) + "\"} " + std::to_string(n) + "\n";
  out += "# HELP engram_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE engram_http_requests_total counter\n";
  for (const auto& [key, s] : series_) {
    const auto& [route, method, status] = key;
    out += "engram_http_requests_total{route=\"" + prom_label(route) + "\",method=\"" + method +
           "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(s.count) + "\n";
  }
  out += "# HELP engram_http_request_duration_seconds Time from a complete request to its response.\n";
  out += "# TYPE engram_http_request_duration_seconds histogram\n";
  for (const auto& [key, s] : series_) {
    const auto& [route, method, status] = key;
    std::string labels = "route=\"" + prom_label(route) + "\",method=\"" + method +
                         "\",status=\"" + std::to_string(status) + "\"";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += s.buckets[i];
      std::snprintf(num, sizeof num, "%g", kBuckets[i]);
      out += "engram_http_request_duration_seconds_bucket{" + labels + ",le=\"" + num + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "engram_http_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " +
           std::to_string(s.count) + "\n";
    std::snprintf(num, sizeof num, "%.9g", s.sum);
    out += "engram_http_request_duration_seconds_sum{" + labels + "} " + num + "\n";
    out += "engram_http_request_duration_seconds_count{" + labels + "} " + std::to_string(s.count) + "\n";
  }
}

}  // namespace engram::server
