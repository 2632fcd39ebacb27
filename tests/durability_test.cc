// Reopen, drop, snapshot: what survives closing and what does not come back.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
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

// Every file under `dir` with its size and modification time.
std::map<std::string, std::pair<std::uintmax_t, std::filesystem::file_time_type>> listing(const std::string& dir) {
  std::map<std::string, std::pair<std::uintmax_t, std::filesystem::file_time_type>> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[e.path().string()] = {e.file_size(), e.last_write_time()};
  }
  return out;
}

DatabaseOptions read_only() {
  DatabaseOptions o;
  o.read_only = true;
  return o;
}

void expect_code(ErrorCode code, const std::function<void()>& fn, const char* what) {
  try {
    fn();
    ADD_FAILURE() << what << ": no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << what << ": " << e.what();
  }
}

TEST(DurabilityTest, AReadOnlyOpenReadsEverythingAndWritesNothing) {
  TempDir dir;
  const auto k = random_matrix(300, 8, 9);
  std::vector<SlotId> ids;
  {
    auto db = Database::open(dir.path());
    auto mem = db->create_memory("m", make_config(8, 8, "HNSWlib16", Metric::kL2));
    ids = mem->insert(MatrixView(k, 8), MatrixView(k, 8));
    mem->erase({ids[0], ids[1]});
  }
  const auto before = listing(dir.path());
  {
    auto db = Database::open(dir.path(), read_only());
    auto mem = db->memory("m");
    EXPECT_EQ(mem->count(), 298u);
    const auto r = mem->read(MatrixView(k.data() + 10 * 8, 1, 8), {.k = 1});
    EXPECT_EQ(r.ids[0], ids[10]);
    EXPECT_EQ(r.reads, std::vector<float>(k.begin() + 80, k.begin() + 88));
    EXPECT_EQ(mem->get({ids[299]})[0].value, std::vector<float>(k.end() - 8, k.end()));
    expect_code(ErrorCode::kFailedPrecondition, [&] { mem->insert(MatrixView(k.data(), 1, 8), MatrixView(k.data(), 1, 8)); }, "insert");
    expect_code(ErrorCode::kFailedPrecondition, [&] { mem->erase({ids[5]}); }, "erase");
    expect_code(ErrorCode::kFailedPrecondition, [&] { mem->checkpoint(); }, "checkpoint");
    expect_code(ErrorCode::kFailedPrecondition, [&] { db->create_memory("n", make_config(8, 8)); }, "create");
    EXPECT_EQ(mem->count(), 298u);
  }
  EXPECT_EQ(listing(dir.path()), before) << "a read-only open changed a file";
  expect_code(ErrorCode::kNotFound, [&] { Database::open(dir.sub("nowhere"), read_only()); }, "no database");
}

// A read-only open and a writing one exclude each other across processes, as two writers do.
TEST(DurabilityTest, AReadOnlyOpenAndAWriterExcludeEachOther) {
  TempDir dir;
  Database::open(dir.path())->create_memory("m", make_config(4, 4));
  for (bool child_reads : {true, false}) {
    int ready[2], done[2];
    ASSERT_EQ(::pipe(ready), 0);
    ASSERT_EQ(::pipe(done), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // holds the database open until the parent has tried
      ::close(ready[0]);
      ::close(done[1]);
      int rc = 0;
      try {
        auto db = child_reads ? Database::open(dir.path(), read_only()) : Database::open(dir.path());
        char c = 1;
        if (::write(ready[1], &c, 1) != 1) rc = 2;
        if (::read(done[0], &c, 1) != 1) rc = 3;
      } catch (...) {
        rc = 4;
      }
      ::_exit(rc);
    }
    // Only the child writes `ready` and reads `done`: a child that dies closes them, and the
    // reads below end instead of waiting.
    ::close(ready[1]);
    ::close(done[0]);
    char c;
    if (::read(ready[0], &c, 1) != 1) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      FAIL() << "the child did not open the database";
    }
    if (child_reads) {
      expect_code(ErrorCode::kBusy, [&] { Database::open(dir.path()); }, "writer while a reader has it");
    } else {
      expect_code(ErrorCode::kBusy, [&] { Database::open(dir.path(), read_only()); }, "reader while a writer has it");
    }
    c = 1;
    ASSERT_EQ(::write(done[1], &c, 1), 1);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    for (int fd : {ready[0], done[1]}) ::close(fd);
  }
  // Both closed: either kind opens again.
  EXPECT_EQ(Database::open(dir.path(), read_only())->list_memories(), std::vector<std::string>{"m"});
  EXPECT_EQ(Database::open(dir.path())->list_memories(), std::vector<std::string>{"m"});
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
