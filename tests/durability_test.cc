// Reopen, drop, snapshot: what survives closing and what does not come back.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "tests/test_util.h"

namespace engram {
namespace {

using testing::make_config;
using testing::random_matrix;
using testing::TempDir;

class ReopenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ReopenTest, ReopenNeedsNoConfigurationAndLoadsTheCheckpoint) {
  TempDir dir;
  auto cfg = make_config(8, 4, GetParam(), Metric::kL2);
  cfg.default_k = 5;
  cfg.temperature = 0.5f;
  cfg.gate_bias = 1.25f;
  auto keys = random_matrix(200, 8, 1), values = random_matrix(200, 4, 2);
  std::vector<SlotId> ids;
  SearchResult before;
  {
    auto db = Database::open(dir.path());
    auto mem = db->create_memory("facts", cfg);
    ids = mem->insert(MatrixView(keys, 8), MatrixView(values, 4), std::vector<std::string>(200, "payload"));
    mem->erase({ids[3]});
    before = mem->search(MatrixView(keys.data(), 10, 8), {.with_payloads = true});
  }
  auto db = Database::open(dir.path());
  EXPECT_EQ(db->list_memories(), std::vector<std::string>{"facts"});
  auto c = db->describe("facts");
  EXPECT_EQ(c.key_dim, 8);
  EXPECT_EQ(c.value_dim, 4);
  EXPECT_EQ(c.metric, Metric::kL2);
  EXPECT_EQ(c.index, GetParam());
  EXPECT_EQ(c.default_k, 5);
  EXPECT_FLOAT_EQ(c.temperature, 0.5f);
  EXPECT_FLOAT_EQ(c.gate_bias, 1.25f);
  auto mem = db->memory("facts");
  auto st = mem->stats();
  EXPECT_EQ(st.slots, 199u);
  EXPECT_EQ(st.indexed, 199u);
  EXPECT_EQ(st.tombstones, 1u) << "the HNSW tombstone was checkpointed, not rebuilt away";
  EXPECT_EQ(st.checkpoint_op_seq, st.op_seq);
  auto after = mem->search(MatrixView(keys.data(), 10, 8), {.with_payloads = true});
  EXPECT_EQ(after.ids, before.ids);
  EXPECT_EQ(after.payloads, before.payloads);
  EXPECT_EQ(mem->get_one(ids[5]).value, std::vector<float>(values.begin() + 20, values.begin() + 24));
  EXPECT_EQ(db->memory("facts").get(), mem.get()) << "one object per memory";
}

INSTANTIATE_TEST_SUITE_P(HnswBackends, ReopenTest, ::testing::Values("HNSW16", "HNSWlib16"));

TEST(DurabilityTest, NewIdsAreNeverReusedAfterEraseAndReopen) {
  TempDir dir;
  auto k = random_matrix(10, 4, 3);
  SlotId last;
  {
    auto db = Database::open(dir.path());
    auto mem = db->create_memory("m", make_config(4, 4));
    auto ids = mem->insert(MatrixView(k, 4), MatrixView(k, 4));
    last = ids.back();
    mem->erase({last});
  }
  auto db = Database::open(dir.path());
  auto id = db->memory("m")->insert_one(std::vector<float>(4, 1.0f), std::vector<float>(4, 1.0f));
  EXPECT_GT(id, last);
}

// Closing rewrites the checkpoint only when operations happened since it was written: a memory
// that was only read closes without rewriting (a large index is gigabytes), and one that was
// written to closes with a checkpoint that covers the writes.
TEST(DurabilityTest, CloseRewritesTheCheckpointOnlyAfterChanges) {
  TempDir dir;
  auto k = random_matrix(20, 4, 5);
  auto checkpoint_inode = [&] {
    const auto files = std::filesystem::directory_iterator(dir.sub("index"));
    for (const auto& f : files) {
      struct stat st {};
      if (f.path().extension() == ".idx" && ::stat(f.path().c_str(), &st) == 0) return st.st_ino;
    }
    return ino_t{0};
  };
  {
    auto db = Database::open(dir.path());
    db->create_memory("m", make_config(4, 4))->insert(MatrixView(k, 4), MatrixView(k, 4));
  }
  const ino_t written = checkpoint_inode();
  ASSERT_NE(written, 0u);
  {
    auto db = Database::open(dir.path());
    auto mem = db->memory("m");
    mem->read(MatrixView(k.data(), 1, 4), {.k = 3});
    EXPECT_EQ(mem->stats().checkpoint_op_seq, mem->stats().op_seq);
  }
  EXPECT_EQ(checkpoint_inode(), written) << "a close after reads only rewrote the checkpoint";
  {
    auto db = Database::open(dir.path());
    db->memory("m")->erase({0});
  }
  EXPECT_NE(checkpoint_inode(), written) << "a close after a write kept the old checkpoint";
  auto db = Database::open(dir.path());
  auto stats = db->memory("m")->stats();
  EXPECT_EQ(stats.checkpoint_op_seq, stats.op_seq);
  EXPECT_EQ(stats.slots, 19u);
}

TEST(DurabilityTest, DropRemovesEverythingAndTheNameCanBeReused) {
  TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = db->create_memory("m", make_config(4, 4));
  auto k = random_matrix(10, 4, 4);
  mem->insert(MatrixView(k, 4), MatrixView(k, 4));
  auto other = db->create_memory("other", make_config(4, 4));
  other->insert(MatrixView(k, 4), MatrixView(k, 4));
  db->drop_memory("m");
  EXPECT_THROW(mem->count(), Error) << "a dropped memory's handle refuses calls";
  EXPECT_EQ(db->list_memories(), std::vector<std::string>{"other"});
  auto again = db->create_memory("m", make_config(4, 4));
  EXPECT_EQ(again->count(), 0u);
  EXPECT_EQ(other->count(), 10u) << "dropping one memory leaves the others alone";
  db.reset();
  db = Database::open(dir.path());
  EXPECT_EQ(db->memory("m")->count(), 0u);
  EXPECT_EQ(db->memory("other")->count(), 10u);
}

TEST(DurabilityTest, SnapshotIsAConsistentOpenableCopy) {
  TempDir dir;
  auto db = Database::open(dir.sub("db"));
  auto mem = db->create_memory("m", make_config(4, 4, "HNSW16"));
  auto k = random_matrix(100, 4, 5);
  mem->insert(MatrixView(k, 4), MatrixView(k, 4));
  db->snapshot(dir.sub("snap"));
  mem->insert(MatrixView(k, 4), MatrixView(k, 4));  // after the snapshot: not in it
  EXPECT_THROW(db->snapshot(dir.sub("snap")), Error) << "an existing target is refused";
  auto snap = Database::open(dir.sub("snap"));
  auto copy = snap->memory("m");
  EXPECT_EQ(copy->count(), 100u);
  EXPECT_EQ(copy->stats().indexed, 100u);
  EXPECT_EQ(mem->count(), 200u);
  EXPECT_GT(db->disk_bytes(), 0u);
}

// Whether any file under `dir` contains `needle` (the store keeps payloads verbatim when they do
// not compress, as random text does not).
bool folder_contains(const std::string& dir, const std::string& needle) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST(DurabilityTest, ASnapshotOfSomeMemoriesHoldsThoseOnlyAndNoneOfTheOthersBytes) {
  TempDir dir;
  auto db = Database::open(dir.sub("db"));
  auto a = db->create_memory("a", make_config(4, 4, "HNSW16"));
  auto b = db->create_memory("b", make_config(4, 4));
  const auto k = random_matrix(100, 4, 7);
  a->insert(MatrixView(k, 4), MatrixView(k, 4));
  std::mt19937 rng(3);
  std::string secret;
  for (int i = 0; i < 200; ++i) secret.push_back("abcdefghijklmnopqrstuvwxyz0123456789"[rng() % 36]);
  b->insert(MatrixView(k.data(), 50, 4), MatrixView(k.data(), 50, 4), std::vector<std::string>(50, secret));
  a->checkpoint();
  b->checkpoint();  // b's bytes are in the source's files, which the snapshot hard-links

  a->snapshot(dir.sub("only-a"));
  auto snap = Database::open(dir.sub("only-a"));
  EXPECT_EQ(snap->list_memories(), std::vector<std::string>{"a"});
  EXPECT_EQ(snap->memory("a")->count(), 100u);
  EXPECT_EQ(snap->memory("a")->stats().indexed, 100u);
  snap.reset();
  EXPECT_TRUE(folder_contains(dir.sub("db"), secret)) << "the check below could not see the bytes";
  EXPECT_FALSE(folder_contains(dir.sub("only-a"), secret)) << "b's payloads are in a snapshot of a";
  EXPECT_EQ(b->count(), 50u) << "the source keeps both memories";

  try {
    db->snapshot(dir.sub("unknown"), {"a", "nope"});
    ADD_FAILURE() << "an unknown memory was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.sub("unknown")));
  EXPECT_FALSE(std::filesystem::exists(dir.sub("unknown.partial")));

  db.reset();
  try {
    a->snapshot(dir.sub("closed"));
    ADD_FAILURE() << "a snapshot through a closed database";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
  }
}

TEST(DurabilityTest, HandlesRefuseCallsAfterTheDatabaseCloses) {
  TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = db->create_memory("m", make_config(4, 4));
  db.reset();
  EXPECT_THROW(mem->count(), Error);
  EXPECT_THROW(mem->insert_one(std::vector<float>(4, 1.0f), std::vector<float>(4, 1.0f)), Error);
}

}  // namespace
}  // namespace engram
