// engram::BulkLoader on chunks large enough for its fast paths: keys and values files written on
// two threads with validation fused into the writing, row buffers handed back for reuse, the
// ingestion overlapping the indexing (and undone from the index when it fails), and bulk files
// of the keys and values families written without bloom filters.
#include <gtest/gtest.h>

#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/table_properties.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "engram/bulk_load.h"
#include "engram/engram.h"
#include "engram/error.h"
#include "ingest/tests/ingest_test_util.h"

namespace engram::ingest {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::Scratch;

constexpr std::size_t kDim = 64;
constexpr std::size_t kRows = 3000;  // 3000 × (64 + 64) floats = 1.5 MiB: above the two-thread threshold

MemoryConfig config(const std::string& index = "Flat") {
  MemoryConfig c;
  c.key_dim = static_cast<int>(kDim);
  c.value_dim = static_cast<int>(kDim);
  c.index = index;
  c.metric = Metric::kL2;  // a slot's own key is its nearest neighbour
  return c;
}

std::size_t files_in(const std::string& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

void expect_slots(Memory& m, SlotId first, const std::vector<float>& keys, const std::vector<float>& values) {
  const std::size_t n = keys.size() / kDim;
  std::vector<SlotId> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = first + i;
  const auto slots = m.get(ids);
  ASSERT_EQ(slots.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(slots[i].id, first + i);
    ASSERT_EQ(slots[i].key, std::vector<float>(keys.begin() + i * kDim, keys.begin() + (i + 1) * kDim)) << i;
    ASSERT_EQ(slots[i].value, std::vector<float>(values.begin() + i * kDim, values.begin() + (i + 1) * kDim)) << i;
  }
}

TEST(BulkLoad, LargeChunksLoadExactlyAndHandTheirBuffersBack) {
  Scratch s;
  const auto k0 = testing::rows(kRows, kDim), v0 = testing::rows(kRows, kDim, 50000);
  const auto k1 = testing::rows(kRows, kDim, kRows), v1 = testing::rows(kRows, kDim, 60000);
  {
    auto db = Database::open(s / "db");
    auto m = db->create_memory("m", config());
    BulkLoader loader(*db, m);
    loader.reserve(2 * kRows);
    ChunkBuffers spent;
    const auto c0 = loader.commit(loader.prepare(k0, v0), "one", &spent);
    EXPECT_EQ(c0.first_id, 0u);
    EXPECT_EQ(c0.rows, kRows);
    // The buffers come back empty, their memory kept for the next chunk.
    EXPECT_TRUE(spent.keys.empty());
    EXPECT_TRUE(spent.values.empty());
    EXPECT_GE(spent.keys.capacity(), k0.size());
    EXPECT_GE(spent.values.capacity(), v0.size());
    spent.keys.assign(k1.begin(), k1.end());
    spent.values.assign(v1.begin(), v1.end());
    const auto c1 = loader.commit(loader.prepare(std::move(spent.keys), std::move(spent.values)), "two");
    EXPECT_EQ(c1.first_id, kRows);
    loader.finish("done");
    EXPECT_EQ(m->stats().slots, 2 * kRows);
    EXPECT_EQ(m->stats().indexed, 2 * kRows);
    expect_slots(*m, 0, k0, v0);
    expect_slots(*m, kRows, k1, v1);
    const auto r = m->search(MatrixView(k1.data() + 17 * kDim, 1, kDim), {.k = 1});
    EXPECT_EQ(r.ids[0], kRows + 17);
  }
  auto db = Database::open(s / "db");  // durable, and the index comes back whole
  auto m = db->memory("m");
  EXPECT_EQ(m->stats().indexed, 2 * kRows);
  expect_slots(*m, 0, k0, v0);
  expect_slots(*m, kRows, k1, v1);
}

TEST(BulkLoad, NanInALargeChunkNamesTheRowAndWritesNothing) {
  Scratch s;
  auto db = Database::open(s / "db");
  auto m = db->create_memory("m", config());
  BulkLoader loader(*db, m);
  auto keys = testing::rows(kRows, kDim), values = testing::rows(kRows, kDim, 9);
  auto bad_values = values;
  bad_values[2500 * kDim + 5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(error_of([&] { loader.prepare(keys, bad_values); })
                .find("values holds a NaN or Inf at element " + std::to_string(2500 * kDim + 5) + " (row 2500)"),
            std::string::npos);
  auto bad_keys = keys;
  bad_keys[2999 * kDim] = std::numeric_limits<float>::infinity();
  bad_keys[10] = -std::numeric_limits<float>::infinity();
  // Keys and values both bad: the keys' first bad row is named.
  EXPECT_NE(error_of([&] { loader.prepare(bad_keys, bad_values); }).find("keys holds a NaN or Inf at element 10 (row 0)"),
            std::string::npos);
  EXPECT_EQ(files_in(s / "db/bulk"), 0u) << "the files begun were deleted";
  // The ids the failed chunks had been given are given back: the next chunk takes id 0 as
  // predicted (its files are not rewritten at commit).
  const auto c = loader.commit(loader.prepare(keys, values), "ok");
  EXPECT_EQ(c.first_id, 0u);
  loader.finish();
  EXPECT_EQ(m->stats().slots, kRows);
  expect_slots(*m, 0, keys, values);
}

TEST(BulkLoad, FailedIngestionLeavesTheIndexAndTheStoreAsTheyWere) {
  for (const std::string index : {"Flat", "HNSW16"}) {
    SCOPED_TRACE(index);
    Scratch s;
    auto db = Database::open(s / "db");
    auto m = db->create_memory("m", config(index));
    const auto old_keys = testing::rows(10, kDim, 90000);
    m->insert(MatrixView(old_keys, kDim), MatrixView(old_keys, kDim));
    BulkLoader loader(*db, m);
    const auto keys = testing::rows(kRows, kDim), values = testing::rows(kRows, kDim, 7);
    auto chunk = loader.prepare(keys, values);
    for (const auto& e : fs::directory_iterator(s / "db/bulk")) fs::remove(e.path());  // the ingestion must fail
    EXPECT_THROW(loader.commit(std::move(chunk), "state"), Error);
    const auto st = m->stats();
    EXPECT_EQ(st.slots, 10u);
    EXPECT_EQ(st.indexed, 10u);
    EXPECT_EQ(st.next_id, 10u);
    EXPECT_EQ(loader.committed_rows(), 0u);
    // No search finds a slot of the failed chunk, not even with its own key.
    const auto r = m->search(MatrixView(keys.data() + 123 * kDim, 1, kDim), {.k = 10});
    for (SlotId id : r.ids) EXPECT_LT(id, 10u);
    // The next chunk loads as if nothing had happened.
    const auto c = loader.commit(loader.prepare(keys, values), "again");
    EXPECT_EQ(c.first_id, 10u);
    loader.finish();
    EXPECT_EQ(m->stats().slots, 10u + kRows);
    expect_slots(*m, 10, keys, values);
    const auto r2 = m->search(MatrixView(keys.data() + 123 * kDim, 1, kDim), {.k = 1});
    EXPECT_EQ(r2.ids[0], 10u + 123);
  }
}

TEST(BulkLoad, KeysAndValuesFilesHaveNoBloomFilterPayloadFilesDo) {
  Scratch s;
  {
    auto db = Database::open(s / "db");
    auto m = db->create_memory("m", config());
    BulkLoader loader(*db, m);
    std::vector<std::string> payloads(kRows);
    for (std::size_t i = 0; i < kRows; i += 3) payloads[i] = "p" + std::to_string(i);
    loader.commit(loader.prepare(testing::rows(kRows, kDim), testing::rows(kRows, kDim), payloads), "s");
    loader.finish();
    EXPECT_EQ(m->get({3})[0].payload, "p3");
    EXPECT_EQ(m->get({4})[0].payload, "");
  }
  std::map<std::string, int> seen;  // column family -> bulk files checked
  for (const auto& e : fs::directory_iterator(s / "db/store")) {
    if (e.path().extension() != ".sst") continue;
    rocksdb::Options o;
    rocksdb::SstFileReader reader(o);
    ASSERT_TRUE(reader.Open(e.path().string()).ok()) << e.path();
    const auto props = reader.GetTableProperties();
    const std::string& cf = props->column_family_name;
    if (props->num_entries != kRows && !(cf == "payloads" && props->num_entries == kRows / 3)) continue;
    ++seen[cf];
    if (cf == "keys" || cf == "values") {
      EXPECT_EQ(props->filter_size, 0u) << cf;
      EXPECT_TRUE(props->filter_policy_name.empty()) << cf;
    } else if (cf == "payloads") {
      EXPECT_GT(props->filter_size, 0u);
    }
  }
  EXPECT_EQ(seen["keys"], 1);
  EXPECT_EQ(seen["values"], 1);
  EXPECT_EQ(seen["payloads"], 1);
}

}  // namespace
}  // namespace engram::ingest
