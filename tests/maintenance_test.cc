// Background checkpoints keep the op log short however the process stops, and a snapshot killed
// midway leaves neither a partial target nor anything that blocks a retry.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engram/engram.h"
#include "tests/test_util.h"

namespace engram {
namespace {

namespace fs = std::filesystem;
using testing::make_config;
using testing::random_matrix;
using testing::TempDir;

// Waits up to `seconds` for `done`.
bool eventually(const std::function<bool()>& done, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(seconds * 1000));
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// Background checkpoints with one trigger on (the others 0).
DatabaseOptions checkpoints(std::size_t every_ops, double interval_s) {
  DatabaseOptions options;
  options.checkpoint_every_ops = every_ops;
  options.checkpoint_every_slots = 0;
  options.checkpoint_interval_s = interval_s;
  return options;
}

// stats() tells how large the index checkpoint is and how old: what a scrape of /metrics shows.
TEST(BackgroundCheckpointTest, StatsGiveTheCheckpointsSizeAndAge) {
  TempDir dir;
  auto db = Database::open(dir.path(), checkpoints(0, 0));
  auto mem = db->create_memory("m", make_config(8, 4));
  EXPECT_EQ(mem->stats().index_bytes, 0u);  // none written yet
  const auto k = random_matrix(100, 8, 1), v = random_matrix(100, 4, 2);
  mem->insert(MatrixView(k, 8), MatrixView(v, 4));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GE(mem->stats().checkpoint_age_s, 0.3);
  mem->checkpoint();
  const MemoryStats s = mem->stats();
  EXPECT_GT(s.index_bytes, 100u * 8 * 4);  // the keys alone take this much
  EXPECT_LT(s.checkpoint_age_s, 0.3);
}

TEST(BackgroundCheckpointTest, FiresByOpCount) {
  TempDir dir;
  auto db = Database::open(dir.path(), checkpoints(10, 0));
  auto mem = db->create_memory("m", make_config(8, 4));
  for (int i = 0; i < 25; ++i) {
    auto k = random_matrix(2, 8, i), v = random_matrix(2, 4, i);
    mem->insert(MatrixView(k, 8), MatrixView(v, 4));
  }
  // 25 ops: the checkpointer catches up to within the trigger (it wakes every second).
  EXPECT_TRUE(eventually([&] { return mem->stats().op_seq - mem->stats().checkpoint_op_seq < 10; }, 5))
      << "op_seq " << mem->stats().op_seq << ", checkpoint at " << mem->stats().checkpoint_op_seq;
}

TEST(BackgroundCheckpointTest, FiresByTimeAndBoundsTheReplayAfterAKill) {
  TempDir dir;
  // A child writes and is killed without closing: only background checkpoints can have run.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto db = Database::open(dir.path(), checkpoints(0, 0.5));
    auto mem = db->create_memory("m", make_config(8, 4));
    for (int i = 0; i < 30; ++i) {
      auto k = random_matrix(1, 8, i), v = random_matrix(1, 4, i);
      WriteOptions sync;
      sync.sync = true;
      mem->insert(MatrixView(k, 8), MatrixView(v, 4), {}, sync);
    }
    std::this_thread::sleep_for(std::chrono::seconds(3));  // past the interval: a checkpoint ran
    raise(SIGKILL);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto db = Database::open(dir.path());
  const MemoryStats s = db->memory("m")->stats();
  EXPECT_EQ(s.slots, 30u);
  EXPECT_EQ(s.checkpoint_op_seq, s.op_seq) << "the log past the checkpoint was replayed";
}

// The ops a memory replays when it opens count toward the trigger: after a crash that left many,
// a checkpoint follows at once, so the replay does not grow from crash to crash.
TEST(BackgroundCheckpointTest, AReplayPastTheTriggerIsCheckpointedSoonAfterOpening) {
  TempDir dir;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto db = Database::open(dir.path(), checkpoints(0, 0));  // nothing in the background
    auto mem = db->create_memory("m", make_config(8, 4));
    WriteOptions sync;
    sync.sync = true;
    for (int i = 0; i < 30; ++i) {
      auto k = random_matrix(1, 8, i), v = random_matrix(1, 4, i);
      mem->insert(MatrixView(k, 8), MatrixView(v, 4), {}, sync);
    }
    raise(SIGKILL);
  }
  waitpid(pid, nullptr, 0);
  auto db = Database::open(dir.path(), checkpoints(10, 0));
  auto mem = db->memory("m");  // replays 30 ops
  EXPECT_EQ(mem->stats().op_seq, 30u);
  EXPECT_TRUE(eventually([&] { return mem->stats().checkpoint_op_seq == 30; }, 5))
      << "checkpoint at " << mem->stats().checkpoint_op_seq;
}

// The bytes a killed snapshot can leave: a half-written folder.
void leave_partial_snapshot(const std::string& partial) {
  fs::create_directories(fs::path(partial) / "index");
  std::ofstream(fs::path(partial) / "ENGRAM-PARTIAL-SNAPSHOT") << "interrupted\n";
  std::ofstream(fs::path(partial) / "index" / "1.idx") << "half";
}

TEST(SnapshotTest, ARetryAfterAKilledSnapshotSucceedsAndIsWhole) {
  TempDir dir;
  const std::string target = dir.sub("snap");
  {
    auto db = Database::open(dir.sub("db"));
    auto mem = db->create_memory("m", make_config(8, 4));
    auto k = random_matrix(500, 8, 1), v = random_matrix(500, 4, 2);
    mem->insert(MatrixView(k, 8), MatrixView(v, 4));
    // Kill real snapshots at several moments: the target is never partial.
    for (int delay_ms : {0, 2, 5, 10, 20}) {
      db.reset();
      const pid_t pid = fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        auto child_db = Database::open(dir.sub("db"));
        child_db->snapshot(target);
        _exit(0);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      if (fs::exists(target)) {
        auto copy = Database::open(target, DatabaseOptions{});
        EXPECT_EQ(copy->memory("m")->stats().slots, 500u) << "a partial snapshot at the target";
        copy.reset();
        fs::remove_all(target);
      }
      db = Database::open(dir.sub("db"));
    }
    leave_partial_snapshot(target + ".partial");
    db->snapshot(target);  // a retry to the same target: the leftover is cleaned, not in the way
  }
  EXPECT_FALSE(fs::exists(target + ".partial"));
  EXPECT_FALSE(fs::exists(fs::path(target) / "ENGRAM-PARTIAL-SNAPSHOT"));
  auto copy = Database::open(target);
  EXPECT_EQ(copy->memory("m")->stats().slots, 500u);
}

TEST(SnapshotTest, PartialSnapshotsLeftInAFolderAreRemovedOnlyIfOurs) {
  TempDir dir;
  leave_partial_snapshot(dir.sub("20261206T101010Z.partial"));
  fs::create_directories(dir.sub("foreign.partial"));
  fs::create_directories(dir.sub("whole"));
  EXPECT_EQ(Database::remove_partial_snapshots(dir.path()), 1u);
  EXPECT_FALSE(fs::exists(dir.sub("20261206T101010Z.partial")));
  EXPECT_TRUE(fs::exists(dir.sub("foreign.partial")));
  EXPECT_TRUE(fs::exists(dir.sub("whole")));
  EXPECT_EQ(Database::remove_partial_snapshots(dir.sub("missing")), 0u);
}

TEST(SnapshotTest, AForeignFolderNamedLikeAPartialIsNeverDeleted) {
  TempDir dir;
  auto db = Database::open(dir.sub("db"));
  fs::create_directories(dir.sub("snap.partial"));
  std::ofstream(dir.sub("snap.partial/precious.txt")) << "not ours";
  EXPECT_THROW(db->snapshot(dir.sub("snap")), Error);
  EXPECT_TRUE(fs::exists(dir.sub("snap.partial/precious.txt")));
}

}  // namespace
}  // namespace engram
