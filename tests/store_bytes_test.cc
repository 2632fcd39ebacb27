// MemoryStats::store_bytes: a memory's share of the database's RocksDB bytes, what the console's
// memories view and the engram_memory_store_bytes gauge show.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engram/engram.h"
#include "tests/test_util.h"

namespace engram {
namespace {

using testing::make_config;
using testing::random_matrix;
using testing::TempDir;

constexpr std::size_t kDim = 16, kRows = 2000, kPayloadBytes = 100;
// What kRows slots hold before RocksDB's own overhead: key and value floats and the payload.
constexpr double kRawBytes = kRows * (2 * kDim * sizeof(float) + kPayloadBytes);

void fill(MemoryInterface& mem, int seed) {
  const auto k = random_matrix(kRows, kDim, seed), v = random_matrix(kRows, kDim, seed + 1);
  std::vector<std::string> payloads;
  for (std::size_t i = 0; i < kRows; ++i) {
    std::string p = "{\"n\":" + std::to_string(i) + ",\"pad\":\"";
    p.resize(kPayloadBytes - 2, static_cast<char>('a' + (i * 7 + static_cast<std::size_t>(seed)) % 26));
    payloads.push_back(p + "\"}");
  }
  mem.insert(MatrixView(k, kDim), MatrixView(v, kDim), payloads);
}

// Within a factor of the bytes written: RocksDB adds its key and block overhead (and the op log
// holds a copy of each key until a checkpoint), compression takes some of the payloads back.
void expect_about_the_data(std::uint64_t bytes, const char* when) {
  EXPECT_GT(static_cast<double>(bytes), 0.5 * kRawBytes) << when;
  EXPECT_LT(static_cast<double>(bytes), 4.0 * kRawBytes) << when;
}

TEST(StoreBytesTest, CountsTheMemorysOwnRecordsInMemtablesAndInFiles) {
  TempDir dir;
  {
    auto db = Database::open(dir.path());
    auto a = db->create_memory("a", make_config(kDim, kDim));
    auto b = db->create_memory("b", make_config(kDim, kDim));
    EXPECT_LT(a->stats().store_bytes, 1024u) << "an empty memory";
    fill(*a, 1);
    expect_about_the_data(a->stats().store_bytes, "in the memtables");
    EXPECT_LT(b->stats().store_bytes, 1024u) << "another memory's records are not counted";
  }
  // Reopening flushes the recovered memtables to SST files: the estimate now comes from them.
  auto db = Database::open(dir.path());
  auto a = db->memory("a");
  auto b = db->memory("b");
  const std::uint64_t a_in_files = a->stats().store_bytes;
  expect_about_the_data(a_in_files, "in the SST files");
  fill(*b, 7);
  expect_about_the_data(b->stats().store_bytes, "b in the memtables");
  EXPECT_NEAR(static_cast<double>(a->stats().store_bytes), static_cast<double>(a_in_files), 0.05 * a_in_files)
      << "writing to b does not change a's share";
  db->drop_memory("b");
  EXPECT_NEAR(static_cast<double>(a->stats().store_bytes), static_cast<double>(a_in_files), 0.05 * a_in_files)
      << "dropping b does not change a's share";
}

}  // namespace
}  // namespace engram
