#include "process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace engram::server {

namespace {

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void family(std::string& out, const char* name, const char* type, const char* help, double value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
         number(value) + "\n";
}

// The boot time in seconds since the epoch (/proc/stat's btime): /proc/self/stat gives the start
// time in clock ticks since boot.
double boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

void render_process_metrics(std::string& out) {
  std::ifstream in("/proc/self/stat");
  std::string stat;
  if (!std::getline(in, stat)) return;
  // The command name (field 2) is in parentheses and may hold spaces: fields are counted from
  // the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return;
  std::istringstream rest(stat.substr(close + 2));
  std::vector<std::string> f;  // f[0] is field 3 (state)
  for (std::string s; rest >> s;) f.push_back(s);
  if (f.size() < 22) return;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  const double utime = std::stod(f[11]), stime = std::stod(f[12]);  // fields 14, 15
  const double start = std::stod(f[19]);                             // field 22
  const double vsize = std::stod(f[20]), rss = std::stod(f[21]);     // fields 23, 24

  std::size_t fds = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++fds;
  if (fds > 0) --fds;  // the iterator's own descriptor
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);

  family(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
         (utime + stime) / ticks);
  family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss * page);
  family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", vsize);
  family(out, "process_open_fds", "gauge", "Number of open file descriptors.", static_cast<double>(fds));
  family(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
         static_cast<double>(limit.rlim_cur));
  family(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
         boot_time() + start / ticks);
}

}  // namespace engram::server
