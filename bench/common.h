// bench/common.h — what every benchmark area shares: options, clocks, statistics and the
// reporter that prints one JSON line per measurement and a table at the end.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engram/memory_interface.h"

namespace engram::bench {

// "--name value" and "--flag" options after the subcommand. Unknown names are an error, so a
// typo never silently runs the default.
class Args {
 public:
  Args(int argc, char** argv, int first);
  std::string str(const std::string& name, const std::string& def);
  long long num(const std::string& name, long long def);
  double real(const std::string& name, double def);
  bool flag(const std::string& name);
  std::vector<std::string> list(const std::string& name, const std::string& def);  // comma-separated
  // Throws if an option was given that no str/num/real/flag/list call asked for.
  void check_all_used() const;

 private:
  std::map<std::string, std::string> given_;
  std::map<std::string, bool> used_;
};

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs fn and returns its wall time in seconds.
template <typename Fn>
double time_s(Fn&& fn) {
  const double t0 = now_s();
  fn();
  return now_s() - t0;
}

double median(std::vector<double> v);
// Nearest-rank percentile, q in [0, 1].
double percentile(std::vector<double> v, double q);

// One measurement: side A (Engram, or the first library) against side B (the raw library).
struct Measurement {
  std::string area;        // "read_batch", "insert", ...
  std::string index;       // factory string, or "" when not index-specific
  std::string metric;      // "qps", "p50_ms", "rows_per_s", "seconds", ...
  std::string a_name = "engram";
  double a = 0;
  std::string b_name = "raw";
  double b = 0;
  bool higher_is_better = true;
  // ratio = a / b. A target is "ratio >= x" (higher_is_better) or "ratio <= x"; 0: none.
  double target = 0;
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

class Reporter {
 public:
  // out_path empty: stdout only.
  Reporter(std::string bench, std::string out_path, nlohmann::ordered_json context);
  // Prints the JSON line (stdout and --out) and keeps the row for the table.
  void add(const Measurement& m);
  // Free-form information line (data set, machine): printed as JSON with "area":"info".
  void info(nlohmann::ordered_json j);
  void print_table() const;

 private:
  void emit(const nlohmann::ordered_json& j);
  std::string bench_;
  std::ofstream out_;
  nlohmann::ordered_json context_;
  std::vector<Measurement> rows_;
};

// Inserts n rows into `mem` as an application does, `batch` rows a call with sync off; returns
// the first row's id (the others follow it).
SlotId insert_in_batches(MemoryInterface& mem, const float* keys, std::size_t key_dim, const float* values,
                         std::size_t value_dim, std::size_t n, std::size_t batch);

// Runs an area's measurements: `body`, then (even when it throws) removes the scratch folder
// `dir` unless `keep`; then the total wall time as an info line, and the table. Returns 0.
int run_measured(Reporter& rep, const std::string& dir, bool keep, const std::function<void()>& body);

// Human-readable number: 3 significant digits, k/M suffixes for large values.
std::string human(double v);

// A description of this machine (CPU model, cores, memory) for the report.
nlohmann::ordered_json machine_info();

}  // namespace engram::bench
