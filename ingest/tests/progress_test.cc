// The progress display: a bar ends on the final count, plain lines come per N %, and a log line
// printed during a bar does not break it.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "ingest/progress.h"

namespace engram::ingest {
namespace {

// What `fn` wrote to the progress stream.
template <typename Fn>
std::string written(Fn&& fn) {
  std::FILE* f = std::tmpfile();
  fn(f);
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  std::fclose(f);
  return out;
}

// Updates faster than the bar redraws (ten times a second): the last frame drawn must still be
// the final count (it stayed at the frame before: "93.3 %").
TEST(ProgressTest, BarEndsAtTheFinalCount) {
  const std::string out = written([](std::FILE* f) {
    Progress p(Progress::Mode::kBar, 15, 0, f);
    for (std::uint64_t i = 1; i <= 15; ++i) p.update(i, 0);
    p.finish();
  });
  const std::string last = out.substr(out.rfind('\r') + 1);
  EXPECT_NE(last.find("100.0% 15/15 slots"), std::string::npos) << out;
  EXPECT_NE(last.find("[##############################]"), std::string::npos) << out;
  EXPECT_EQ(out.back(), '\n');
}

// Not a terminal: one line per 25 %, named and counted in the job's own unit, the note at the end.
TEST(ProgressTest, PlainLinesEveryNPercentWithLabelUnitAndNote) {
  const std::string out = written([](std::FILE* f) {
    Progress p(Progress::Mode::kLines, 100, 0, f, 5.0, {"train", "steps", 25});
    for (std::uint64_t i = 1; i <= 100; ++i) p.update(i, 0, "loss " + std::to_string(i));
    p.finish();
  });
  std::size_t lines = 0;
  for (char c : out) lines += c == '\n';
  EXPECT_EQ(lines, 4u) << out;
  EXPECT_EQ(out.find("train:  25.0% 25/100 steps"), 0u) << out;
  EXPECT_NE(out.find("steps/s  ETA"), std::string::npos) << out;
  EXPECT_NE(out.find("100.0% 100/100 steps"), std::string::npos) << out;
  EXPECT_NE(out.find("loss 100\n"), std::string::npos) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
}

// By time (the ingest default): a job shorter than the interval still logs where it ended.
TEST(ProgressTest, PlainLinesByTimeEndWithTheFinalCount) {
  const std::string out = written([](std::FILE* f) {
    Progress p(Progress::Mode::kLines, 10, 0, f, 60.0);
    for (std::uint64_t i = 1; i <= 10; ++i) p.update(i, 0);
    p.finish();
  });
  EXPECT_EQ(out.find("ingest: 100.0% 10/10 slots"), 0u) << out;
}

TEST(ProgressTest, PrintLineKeepsTheBarBelowIt) {
  const std::string out = written([](std::FILE* f) {
    Progress p(Progress::Mode::kBar, 10, 0, f, 5.0, {"train", "steps", 0});
    p.update(5, 0);
    p.print_line("step 5/10  loss 2.5");
    p.finish();
  });
  const auto at = out.find("step 5/10  loss 2.5\n");
  ASSERT_NE(at, std::string::npos) << out;
  EXPECT_NE(out.find("50.0% 5/10 steps", at), std::string::npos) << out;  // redrawn after it
}

}  // namespace
}  // namespace engram::ingest
