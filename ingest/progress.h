// ingest/progress.h — what a long job (an ingest, training, an evaluation) shows while it runs.
//
// On a terminal: one line redrawn in place (bar, count, rate, ETA), ending on the final count.
// Otherwise (a log file, a pipe, CI): a plain line every few seconds, or every few percent, so
// logs stay readable. Quiet: nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace engram::ingest {

// How a job names itself and what it counts: "ingest: … 1.2k slots  300 slots/s".
struct ProgressStyle {
  std::string label = "ingest";  // starts each plain line
  std::string unit = "slots";
  // Plain lines: one each time the done fraction passes another multiple of this many percent
  // (0: one every line_every_s seconds instead). Needs a known total.
  double every_percent = 0;
};

class Progress {
 public:
  enum class Mode { kAuto, kBar, kLines, kQuiet };
  // `total`: records expected (nullopt: unknown, then `total_bytes` drives the percentage).
  Progress(Mode mode, std::optional<std::uint64_t> total, std::uint64_t total_bytes,
           std::FILE* out = stderr, double line_every_s = 5.0, ProgressStyle style = {});

  // Called after each step of work (a committed chunk, a batch): units done this run, bytes of
  // input consumed, and a note to show after the numbers (a loss, an accuracy).
  void update(std::uint64_t done, std::uint64_t bytes_done, const std::string& note = "");
  // Shows the last update if throttling skipped it (so a bar ends at 100 %, not at the frame
  // drawn a moment before), and ends the bar line (a terminal needs the newline).
  void finish();
  // A line of its own (a periodic log line) without breaking the bar: clears it, prints
  // `text`, redraws the bar below.
  void print_line(const std::string& text);

  double seconds() const;

  // "1.23M", "456k", "789".
  static std::string human_count(double n);
  // "1.2 GiB".
  static std::string human_bytes(double n);
  // "1:02:03" or "4:05".
  static std::string human_duration(double s);

 private:
  std::string line(std::uint64_t done, std::uint64_t bytes_done) const;
  double fraction(std::uint64_t done, std::uint64_t bytes_done) const;
  void draw();
  Mode mode_;
  std::optional<std::uint64_t> total_;
  std::uint64_t total_bytes_;
  std::FILE* out_;
  double every_s_;
  ProgressStyle style_;
  std::chrono::steady_clock::time_point start_, last_;
  bool drawn_ = false;
  bool shown_ = true;  // the last update is on screen (or in the log)
  std::uint64_t done_ = 0, bytes_done_ = 0;
  std::string note_;
  long percent_step_ = 0;  // every_percent steps already printed
};

}  // namespace engram::ingest
