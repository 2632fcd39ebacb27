#include "bench/common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <omp.h>

namespace engram::bench {

Args::Args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + a + "'");
    a = a.substr(2);
    std::string v = "true";
    const auto eq = a.find('=');
    if (eq != std::string::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      v = argv[++i];
    }
    given_[a] = v;
    used_[a] = false;
  }
}

std::string Args::str(const std::string& name, const std::string& def) {
  auto it = given_.find(name);
  if (it == given_.end()) return def;
  used_[name] = true;
  return it->second;
}

long long Args::num(const std::string& name, long long def) {
  const std::string s = str(name, "");
  if (s.empty()) return def;
  // Accept 1e6, 200k, 1M.
  double mult = 1;
  std::string body = s;
  if (!body.empty() && (body.back() == 'k' || body.back() == 'K')) mult = 1e3, body.pop_back();
  else if (!body.empty() && (body.back() == 'm' || body.back() == 'M')) mult = 1e6, body.pop_back();
  std::size_t used = 0;
  const double v = std::stod(body, &used);
  if (used != body.size()) throw std::invalid_argument("--" + name + " wants a number, got '" + s + "'");
  return static_cast<long long>(std::llround(v * mult));
}

double Args::real(const std::string& name, double def) {
  const std::string s = str(name, "");
  return s.empty() ? def : std::stod(s);
}

bool Args::flag(const std::string& name) {
  const std::string s = str(name, "false");
  return s == "true" || s == "1" || s == "yes";
}

std::vector<std::string> Args::list(const std::string& name, const std::string& def) {
  std::vector<std::string> out;
  std::stringstream ss(str(name, def));
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

void Args::check_all_used() const {
  for (const auto& [name, used] : used_) {
    if (!used) throw std::invalid_argument("unknown option --" + name);
  }
}

double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  return v[rank - 1];
}

std::string human(double v) {
  char buf[64];
  const double a = std::fabs(v);
  if (std::isnan(v)) return "-";
  if (a >= 1e6) std::snprintf(buf, sizeof buf, "%.3gM", v / 1e6);
  else if (a >= 1e4) std::snprintf(buf, sizeof buf, "%.3gk", v / 1e3);
  else if (a >= 100) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

nlohmann::ordered_json machine_info() {
  nlohmann::ordered_json j;
  std::ifstream cpu("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      j["cpu"] = line.substr(line.find(':') + 2);
      break;
    }
  }
  j["hardware_threads"] = std::thread::hardware_concurrency();
  j["omp_threads"] = omp_get_max_threads();
  std::ifstream mem("/proc/meminfo");
  while (std::getline(mem, line)) {
    if (line.rfind("MemTotal", 0) == 0) {
      std::stringstream ss(line.substr(9));
      double kb = 0;
      ss >> kb;
      j["mem_gib"] = std::round(kb / 1048576.0 * 10) / 10;
      break;
    }
  }
  return j;
}

Reporter::Reporter(std::string bench, std::string out_path, nlohmann::ordered_json context)
    : bench_(std::move(bench)), context_(std::move(context)) {
  if (!out_path.empty()) {
    out_.open(out_path, std::ios::out | std::ios::trunc);
    if (!out_) throw std::runtime_error("cannot write " + out_path);
  }
}

void Reporter::emit(const nlohmann::ordered_json& j) {
  const std::string line = j.dump();
  std::cout << line << std::endl;
  if (out_.is_open()) out_ << line << '\n' << std::flush;
}

void Reporter::info(nlohmann::ordered_json j) {
  nlohmann::ordered_json line;
  line["bench"] = bench_;
  line["area"] = "info";
  for (auto& [k, v] : j.items()) line[k] = v;
  emit(line);
}

void Reporter::add(const Measurement& m) {
  nlohmann::ordered_json j;
  j["bench"] = bench_;
  j["area"] = m.area;
  if (!m.index.empty()) j["index"] = m.index;
  j["metric"] = m.metric;
  j[m.a_name] = m.a;
  j[m.b_name] = m.b;
  const double ratio = m.b != 0 ? m.a / m.b : NAN;
  j["ratio"] = std::isfinite(ratio) ? nlohmann::ordered_json(ratio) : nlohmann::ordered_json();
  j["higher_is_better"] = m.higher_is_better;
  if (m.target > 0) {
    j["target"] = std::string(m.higher_is_better ? "ratio >= " : "ratio <= ") + human(m.target);
    j["met"] = m.higher_is_better ? ratio >= m.target : ratio <= m.target;
  }
  for (auto& [k, v] : m.extra.items()) j[k] = v;
  for (auto& [k, v] : context_.items()) j[k] = v;
  emit(j);
  rows_.push_back(m);
}

void Reporter::print_table() const {
  std::printf("\n%-13s %-7s %-40s %11s %11s %7s  %-8s %s\n", "area", "index", "metric", "A", "B",
              "A/B", "target", "met");
  std::printf("%s\n", std::string(108, '-').c_str());
  for (const Measurement& m : rows_) {
    const double ratio = m.b != 0 ? m.a / m.b : NAN;
    std::string target = "-", met = "";
    if (m.target > 0) {
      target = std::string(m.higher_is_better ? ">= " : "<= ") + human(m.target);
      met = (m.higher_is_better ? ratio >= m.target : ratio <= m.target) ? "yes" : "NO";
    }
    const std::string metric = m.metric + (m.a_name == "engram" ? "" : " (" + m.a_name + " / " + m.b_name + ")");
    std::printf("%-13s %-7s %-40s %11s %11s %7.3f  %-8s %s\n", m.area.c_str(),
                m.index.empty() ? "-" : m.index.c_str(), metric.c_str(), human(m.a).c_str(),
                human(m.b).c_str(), ratio, target.c_str(), met.c_str());
  }
  std::printf("A = Engram and B = the raw library unless the metric names other sides.\n");
  std::fflush(stdout);
}

int run_measured(Reporter& rep, const std::string& dir, bool keep, const std::function<void()>& body) {
  const double t0 = now_s();
  try {
    body();
  } catch (...) {
    if (!keep) std::filesystem::remove_all(dir);
    throw;
  }
  if (!keep) std::filesystem::remove_all(dir);
  rep.info({{"what", "total"}, {"wall_s", now_s() - t0}});
  rep.print_table();
  return 0;
}

SlotId insert_in_batches(MemoryInterface& mem, const float* keys, std::size_t key_dim, const float* values,
                         std::size_t value_dim, std::size_t n, std::size_t batch) {
  WriteOptions nosync;
  nosync.sync = false;
  SlotId first = kNoSlot;
  for (std::size_t at = 0; at < n; at += batch) {
    const std::size_t rows = std::min(batch, n - at);
    auto ids = mem.insert(MatrixView(keys + at * key_dim, rows, key_dim), MatrixView(values + at * value_dim, rows, value_dim),
                          {}, nosync);
    if (at == 0) first = ids[0];
  }
  return first;
}

}  // namespace engram::bench
