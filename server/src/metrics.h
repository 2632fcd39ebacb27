// metrics.h — request counters and latency histograms, rendered as Prometheus text.
//
// Labels are the route pattern (not the raw path, whose cardinality is unbounded), the method
// and the status. One mutex guards the table: a request takes it once, for a few map lookups,
// which is negligible next to a FAISS search.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace engram::server {

class Metrics {
 public:
  void observe(const std::string& route, const std::string& method, int status, double seconds);
  // Counts a request refused before any handler ran (auth, route, media type, size, budgets,
  // timeouts, shutdown); `reason` is the error code of its answer.
  void refused(const std::string& reason);
  // Appends the request metrics in Prometheus text exposition format.
  void render(std::string& out) const;

  static constexpr std::array<double, 14> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                      0.005,  0.01,    0.025,  0.05,  0.1,
                                                      0.25,   0.5,     1.0,    5.0};

 private:
  struct Series {
    std::uint64_t count = 0;
    double sum = 0;
    std::array<std::uint64_t, kBuckets.size()> buckets{};  // non-cumulative; summed on render
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, Series> series_;
  std::map<std::string, std::uint64_t> refused_;
};

// Escapes a Prometheus label value.
std::string prom_label(const std::string& value);

}  // namespace engram::server
