// ingest/progress.h — what a long ingest shows while it runs.
//
// On a terminal: one line redrawn in place (bar, count, rate, ETA). Otherwise (a log file, a
// pipe, CI): a plain line every few seconds, so logs stay readable. Quiet: nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace engram::ingest {

class Progress {
 public:
  enum class Mode { kAuto, kBar, kLines, kQuiet };
  // `total`: records expected (nullopt: unknown, then `total_bytes` drives the percentage).
  Progress(Mode mode, std::optional<std::uint64_t> total, std::uint64_t total_bytes,
           std::FILE* out = stderr, double line_every_s = 5.0);

  // Called after each committed chunk: records done this run, and bytes of input consumed.
  void update(std::uint64_t done, std::uint64_t bytes_done);
  // Ends the bar line (a terminal needs the newline).
  void finish();

  double seconds() const;

  // "1.23M", "456k", "789".
  static std::string human_count(double n);
  // "1.2 GiB".
  static std::string human_bytes(double n);
  // "1:02:03" or "4:05".
  static std::string human_duration(double s);

 private:
  std::string line(std::uint64_t done, std::uint64_t bytes_done) const;
  Mode mode_;
  std::optional<std::uint64_t> total_;
  std::uint64_t total_bytes_;
  std::FILE* out_;
  double every_s_;
  std::chrono::steady_clock::time_point start_, last_;
  bool drawn_ = false;
};

}  // namespace engram::ingest
