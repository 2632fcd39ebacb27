#include "ingest/progress.h"

#include <unistd.h>

#include <cmath>

namespace engram::ingest {

Progress::Progress(Mode mode, std::optional<std::uint64_t> total, std::uint64_t total_bytes,
                   std::FILE* out, double line_every_s)
    : mode_(mode), total_(total), total_bytes_(total_bytes), out_(out), every_s_(line_every_s) {
  if (mode_ == Mode::kAuto) mode_ = ::isatty(::fileno(out_)) ? Mode::kBar : Mode::kLines;
  start_ = last_ = std::chrono::steady_clock::now();
}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::human_count(double n) {
  char b[32];
  if (n >= 1e6) std::snprintf(b, sizeof b, "%.2fM", n / 1e6);
  else if (n >= 1e4) std::snprintf(b, sizeof b, "%.0fk", n / 1e3);
  else std::snprintf(b, sizeof b, "%.0f", n);
  return b;
}

std::string Progress::human_bytes(double n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (n >= 1024 && u < 4) {
    n /= 1024;
    ++u;
  }
  char b[32];
  std::snprintf(b, sizeof b, u == 0 ? "%.0f %s" : "%.1f %s", n, units[u]);
  return b;
}

std::string Progress::human_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  char b[32];
  if (t >= 3600) std::snprintf(b, sizeof b, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(b, sizeof b, "%ld:%02ld", t / 60, t % 60);
  return b;
}

std::string Progress::line(std::uint64_t done, std::uint64_t bytes_done) const {
  const double secs = seconds();
  const double rate = secs > 0 ? done / secs : 0;
  double fraction = -1;
  if (total_ && *total_ > 0) fraction = static_cast<double>(done) / *total_;
  else if (total_bytes_ > 0) fraction = static_cast<double>(bytes_done) / total_bytes_;
  const double eta = fraction > 0 ? secs * (1 - fraction) / fraction : NAN;
  std::string s;
  if (mode_ == Mode::kBar && fraction >= 0) {
    const int width = 30, filled = static_cast<int>(fraction * width);
    s = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
  }
  char b[160];
  std::string count = human_count(static_cast<double>(done));
  if (total_) count += "/" + human_count(static_cast<double>(*total_));
  std::snprintf(b, sizeof b, "%5.1f%% %s slots  %s slots/s  ETA %s",
                fraction >= 0 ? 100 * fraction : 0.0, count.c_str(), human_count(rate).c_str(),
                human_duration(eta).c_str());
  return s + b;
}

void Progress::update(std::uint64_t done, std::uint64_t bytes_done) {
  if (mode_ == Mode::kQuiet) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (mode_ == Mode::kBar) {
    if (since < 0.1 && drawn_) return;  // redraw at most ten times a second
    std::fprintf(out_, "\r%s\033[K", line(done, bytes_done).c_str());
    drawn_ = true;
  } else {
    if (since < every_s_) return;
    std::fprintf(out_, "ingest: %s\n", line(done, bytes_done).c_str());
  }
  std::fflush(out_);
  last_ = now;
}

void Progress::finish() {
  if (mode_ == Mode::kBar && drawn_) {
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

}  // namespace engram::ingest
