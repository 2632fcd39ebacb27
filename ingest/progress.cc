#include "ingest/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace engram::ingest {

Progress::Progress(Mode mode, std::optional<std::uint64_t> total, std::uint64_t total_bytes,
                   std::FILE* out, double line_every_s, ProgressStyle style)
    : mode_(mode), total_(total), total_bytes_(total_bytes), out_(out), every_s_(line_every_s),
      style_(std::move(style)) {
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

double Progress::fraction(std::uint64_t done, std::uint64_t bytes_done) const {
  if (total_ && *total_ > 0) return std::min(1.0, static_cast<double>(done) / *total_);
  if (total_bytes_ > 0) return std::min(1.0, static_cast<double>(bytes_done) / total_bytes_);
  return -1;
}

std::string Progress::line(std::uint64_t done, std::uint64_t bytes_done) const {
  const double secs = seconds();
  const double rate = secs > 0 ? done / secs : 0;
  const double f = fraction(done, bytes_done);
  const double eta = f > 0 ? secs * (1 - f) / f : NAN;
  std::string s;
  if (mode_ == Mode::kBar && f >= 0) {
    const int width = 30, filled = static_cast<int>(f * width);
    s = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
  }
  char b[200];
  std::string count = human_count(static_cast<double>(done));
  if (total_) count += "/" + human_count(static_cast<double>(*total_));
  const char* unit = style_.unit.c_str();
  std::snprintf(b, sizeof b, "%5.1f%% %s %s  %s %s/s  ETA %s", f >= 0 ? 100 * f : 0.0, count.c_str(), unit,
                human_count(rate).c_str(), unit, human_duration(eta).c_str());
  s += b;
  if (!note_.empty()) s += "  " + note_;
  return s;
}

void Progress::draw() {
  if (mode_ == Mode::kBar) {
    std::fprintf(out_, "\r%s\033[K", line(done_, bytes_done_).c_str());
    drawn_ = true;
  } else {
    std::fprintf(out_, "%s: %s\n", style_.label.c_str(), line(done_, bytes_done_).c_str());
  }
  std::fflush(out_);
  last_ = std::chrono::steady_clock::now();
  shown_ = true;
}

void Progress::update(std::uint64_t done, std::uint64_t bytes_done, const std::string& note) {
  if (mode_ == Mode::kQuiet) return;
  done_ = done;
  bytes_done_ = bytes_done;
  note_ = note;
  shown_ = false;
  const double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_).count();
  if (mode_ == Mode::kBar) {
    if (since < 0.1 && drawn_) return;  // redraw at most ten times a second
  } else if (style_.every_percent > 0 && fraction(done, bytes_done) >= 0) {
    // The epsilon keeps 3/10 × 100 / 10 from landing a hair below 3 in floating point.
    const long step = static_cast<long>(100 * fraction(done, bytes_done) / style_.every_percent + 1e-9);
    if (step <= percent_step_) return;
    percent_step_ = step;
  } else if (since < every_s_) {
    return;
  }
  draw();
}

void Progress::print_line(const std::string& text) {
  if (mode_ == Mode::kQuiet) return;
  if (mode_ == Mode::kBar && drawn_) std::fprintf(out_, "\r\033[K");
  std::fprintf(out_, "%s\n", text.c_str());
  if (mode_ == Mode::kBar && drawn_) std::fprintf(out_, "%s", ("\r" + line(done_, bytes_done_) + "\033[K").c_str());
  std::fflush(out_);
}

void Progress::finish() {
  if (mode_ == Mode::kQuiet) return;
  // Plain lines by percent end on the last one too; by time, a short job's log would otherwise
  // say nothing, and a long one's would stop short of the end.
  if (!shown_ && (mode_ == Mode::kBar || done_ > 0)) draw();
  if (mode_ == Mode::kBar && drawn_) {
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

}  // namespace engram::ingest
