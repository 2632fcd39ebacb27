// The ingest pipeline as a library: exact contents, trained indexes, atomic failure (bad input
// anywhere leaves the memory as it was), interruption and resume without duplicates.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>

#include "engram/bulk_load.h"
#include "engram/engram.h"
#include "ingest/pipeline.h"
#include "ingest/tests/ingest_test_util.h"

namespace engram::ingest {
namespace {

using testing::Scratch;

MemoryConfig config(int dk, int dv, const std::string& index = "Flat") {
  MemoryConfig c;
  c.key_dim = dk;
  c.value_dim = dv;
  c.index = index;
  return c;
}

IngestOptions quiet(std::size_t chunk_rows) {
  IngestOptions o;
  o.chunk_rows = chunk_rows;
  o.progress = Progress::Mode::kQuiet;
  return o;
}

// Slot i holds record i of the files, for every slot the memory has.
void expect_prefix_of_files(Memory& m, const std::vector<float>& keys, const std::vector<float>& values,
                            std::size_t dk, std::size_t dv, std::uint64_t first_id = 0) {
  const auto ids = m.list_ids();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(ids[i], first_id + i);
    const Slot s = m.get({ids[i]})[0];
    ASSERT_EQ(s.key, std::vector<float>(keys.begin() + i * dk, keys.begin() + (i + 1) * dk)) << "slot " << i;
    ASSERT_EQ(s.value, std::vector<float>(values.begin() + i * dv, values.begin() + (i + 1) * dv));
  }
}

TEST(IngestPipeline, LoadsEveryRecordExactlyAndSearchable) {
  Scratch s;
  const auto keys = testing::rows(2500, 8), values = testing::rows(2500, 3, 7);
  testing::write_fvecs(s / "k.fvecs", keys, 8);
  testing::write_npy(s / "v.npy", values, 3);
  auto db = Database::open(s / "db");
  auto m = db->create_memory("m", config(8, 3));
  auto src = RecordSource::open(s / "k.fvecs", s / "v.npy");
  auto r = ingest(*db, m, *src, quiet(300));
  EXPECT_EQ(r.slots, 2500u);
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(m->stats().slots, 2500u);
  EXPECT_EQ(m->stats().indexed, 2500u);
  expect_prefix_of_files(*m, keys, values, 8, 3);
  // Searchable, and consistent after a reopen (index checkpoint + op log).
  auto sr = m->search(MatrixView(keys.data() + 100 * 8, 1, 8), {.k = 1});
  EXPECT_LT(sr.ids[0], 2500u);
  m.reset();
  db.reset();
  db = Database::open(s / "db");
  EXPECT_EQ(db->memory("m")->stats().indexed, 2500u);
}

TEST(IngestPipeline, TrainedIndexTrainsOnASampleThenIndexesEveryChunk) {
  Scratch s;
  const std::size_t n = 3000;
  std::vector<float> keys(n * 8);
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = std::sin(static_cast<float>(i) * 0.37f);
  testing::write_fvecs(s / "k.fvecs", keys, 8);
  testing::write_fvecs(s / "v.fvecs", testing::rows(n, 2), 2);
  auto db = Database::open(s / "db");
  auto m = db->create_memory("ivf", config(8, 2, "IVF16,Flat"));
  auto src = RecordSource::open(s / "k.fvecs", s / "v.fvecs");
  ingest(*db, m, *src, quiet(500));
  const auto st = m->stats();
  EXPECT_TRUE(st.trained);
  EXPECT_EQ(st.indexed, n);
  EXPECT_EQ(m->search(MatrixView(keys.data(), 1, 8), {.k = 1}).ids.size(), 1u);
}

TEST(IngestPipeline, BadRecordLateInTheFileLeavesTheMemoryAsItWas) {
  Scratch s;
  auto keys = testing::rows(2000, 4);
  keys[1700 * 4] = std::nanf("");  // after several chunks have committed
  testing::write_fvecs(s / "k.fvecs", keys, 4);
  testing::write_fvecs(s / "v.fvecs", testing::rows(2000, 2), 2);
  auto db = Database::open(s / "db");
  auto m = db->create_memory("m", config(4, 2, "HNSW16"));
  const auto before = m->insert_one({9, 9, 9, 9}, {1, 1});
  auto src = RecordSource::open(s / "k.fvecs", s / "v.fvecs");
  try {
    ingest(*db, m, *src, quiet(200));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("k.fvecs: record 1701 holds a NaN"), std::string::npos) << e.what();
  }
  EXPECT_EQ(m->stats().slots, 1u);
  EXPECT_EQ(m->list_ids(), std::vector<SlotId>{before});
  EXPECT_EQ(m->search(MatrixView(keys.data() + 4, 1, 4), {.k = 5}).ids[0], before);  // no ghost in the index
  // No job is left pending: a fresh ingest of a good file proceeds.
  testing::write_fvecs(s / "k.fvecs", testing::rows(2000, 4), 4);
  auto good = RecordSource::open(s / "k.fvecs", s / "v.fvecs");
  EXPECT_EQ(ingest(*db, m, *good, quiet(500)).slots, 2000u);
  m.reset();
  db.reset();
  db = Database::open(s / "db");
  EXPECT_EQ(db->memory("m")->stats().slots, 2001u);
}

TEST(IngestPipeline, InterruptedThenResumedLoadsEachRecordOnce) {
  Scratch s;
  const auto keys = testing::rows(1000, 4), values = testing::rows(1000, 2);
  testing::write_fvecs(s / "k.fvecs", keys, 4);
  testing::write_fvecs(s / "v.fvecs", values, 2);
  {
    auto db = Database::open(s / "db");
    auto m = db->create_memory("m", config(4, 2));
    auto src = RecordSource::open(s / "k.fvecs", s / "v.fvecs");
    std::atomic<bool> stop{false};
    auto o = quiet(100);
    o.stop = &stop;
    o.on_commit = [&](std::uint64_t done) {
      if (done >= 300) stop = true;
    };
    auto r = ingest(*db, m, *src, o);
    EXPECT_TRUE(r.interrupted);
    EXPECT_EQ(r.records_done, 300u);
    EXPECT_EQ(m->stats().slots, 300u);
    // Without --resume, the pending job is refused rather than loaded twice.
    auto again = RecordSource::open(s / "k.fvecs", s / "v.fvecs");
    EXPECT_THROW(ingest(*db, m, *again, quiet(100)), Error);
  }
  auto db = Database::open(s / "db");
  auto m = db->memory("m");
  auto src = RecordSource::open(s / "k.fvecs", s / "v.fvecs");
  auto o = quiet(100);
  o.resume = true;
  auto r = ingest(*db, m, *src, o);
  EXPECT_EQ(r.resumed_from, 300u);
  EXPECT_EQ(r.slots, 700u);
  EXPECT_EQ(m->stats().slots, 1000u);
  expect_prefix_of_files(*m, keys, values, 4, 2);
  // Resuming a finished job does nothing.
  auto src2 = RecordSource::open(s / "k.fvecs", s / "v.fvecs");
  EXPECT_TRUE(ingest(*db, m, *src2, o).already_done);
  EXPECT_EQ(m->stats().slots, 1000u);
}

TEST(IngestPipeline, JsonLinesWithPayloads) {
  Scratch s;
  std::string text;
  for (int i = 0; i < 50; ++i) {
    text += "{\"key\":[" + std::to_string(i) + ",1],\"value\":[" + std::to_string(2 * i) + "]" +
            (i % 2 ? ",\"payload\":\"p" + std::to_string(i) + "\"" : "") + "}\n";
  }
  testing::write_bytes(s / "r.jsonl", text);
  auto db = Database::open(s / "db");
  auto m = db->create_memory("m", config(2, 1));
  auto src = RecordSource::open(s / "r.jsonl", "");
  EXPECT_EQ(ingest(*db, m, *src, quiet(7)).slots, 50u);
  const auto slots = m->get({0, 1, 49});
  EXPECT_EQ(slots[1].key, (std::vector<float>{1, 1}));
  EXPECT_EQ(slots[1].payload, "p1");
  EXPECT_EQ(slots[0].payload, "");
  EXPECT_EQ(slots[2].value, std::vector<float>{98});
}

TEST(IngestPipeline, DimensionMismatchWithTheMemoryIsRefused) {
  Scratch s;
  testing::write_fvecs(s / "k.fvecs", testing::rows(10, 5), 5);
  testing::write_fvecs(s / "v.fvecs", testing::rows(10, 2), 2);
  auto db = Database::open(s / "db");
  auto m = db->create_memory("m", config(4, 2));
  auto src = RecordSource::open(s / "k.fvecs", s / "v.fvecs");
  EXPECT_THROW(ingest(*db, m, *src, quiet(3)), Error);
  EXPECT_EQ(m->stats().slots, 0u);
}

TEST(IngestPipeline, BulkLoaderSurvivesAConcurrentWriterTakingItsIds) {
  Scratch s;
  auto db = Database::open(s / "db");
  auto m = db->create_memory("m", config(2, 1));
  BulkLoader loader(*db, m);
  auto chunk = loader.prepare({1, 2, 3, 4}, {5, 6});  // written for ids 0, 1
  const SlotId other = m->insert_one({7, 7}, {7});    // takes id 0
  const auto c = loader.commit(std::move(chunk), "state");
  EXPECT_EQ(c.first_id, other + 1);
  loader.finish("done");
  EXPECT_EQ(m->get({c.first_id + 1})[0].key, (std::vector<float>{3, 4}));
  EXPECT_EQ(m->stats().slots, 3u);
}

}  // namespace
}  // namespace engram::ingest
