// The RAM copy of a memory's values is filled from the store the first time a value is asked
// for, not when the memory opens: a process that only searches never scans them, and reads
// are right while the copy fills and after.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "tests/test_util.h"

namespace engram {
namespace {

using testing::make_config;
using testing::random_matrix;
using testing::TempDir;

// Resident memory of this process, in MiB (Linux).
double rss_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

TEST(ValueCacheTest, SearchesLeaveTheValuesOnDiskAndTheFirstReadLoadsThem) {
  TempDir dir;
  const std::size_t n = 40000, dk = 8, dv = 512;  // 78 MiB of values
  std::vector<float> keys = random_matrix(n, dk, 1), values = random_matrix(n, dv, 2);
  {
    auto db = Database::open(dir.path());
    auto mem = db->create_memory("m", make_config(dk, dv, "Flat", Metric::kL2));
    for (std::size_t at = 0; at < n; at += 10000) {
      mem->insert(MatrixView(keys.data() + at * dk, 10000, dk), MatrixView(values.data() + at * dv, 10000, dv));
    }
  }
  values.clear();
  values.shrink_to_fit();
  auto db = Database::open(dir.path());
  auto mem = db->memory("m");
  const auto queries = random_matrix(50, dk, 3);
  const double before = rss_mib();
  for (int i = 0; i < 20; ++i) mem->search(MatrixView(queries, dk), {.k = 10});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double after_search = rss_mib();
  EXPECT_LT(after_search - before, 30) << "searching grew the process by " << after_search - before << " MiB";

  // The first read starts the loader; values come back right while it runs, and the copy ends
  // up in RAM. (L2, k 1: a slot's own key reads exactly its value.)
  const auto expected = random_matrix(n, dv, 2);
  auto read_value = [&](std::size_t row) {
    return mem->read(MatrixView(keys.data() + row * dk, 1, dk), {.k = 1}).reads;
  };
  EXPECT_EQ(read_value(5), std::vector<float>(expected.begin() + 5 * dv, expected.begin() + 6 * dv));
  double grown = 0;
  for (int i = 0; i < 200 && grown < 60; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    grown = rss_mib() - after_search;
  }
  EXPECT_GE(grown, 60) << "the values were not loaded into RAM after a read";
  EXPECT_EQ(read_value(39999), std::vector<float>(expected.begin() + 39999 * dv, expected.end()));
}

}  // namespace
}  // namespace engram
