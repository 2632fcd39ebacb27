// kill -9 at random moments while a child process runs batched, synced inserts, updates,
// erases, gated writes and checkpoints; after each kill the database must reopen with every
// acknowledged operation present, the index holding exactly the store's ids, and no batch
// half applied.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "tests/test_util.h"

namespace engram {
namespace {

using testing::TempDir;

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;
};

Child spawn(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  c.out = fdopen(fds[0], "r");
  return c;
}

struct Acks {
  std::map<std::string, std::pair<SlotId, SlotId>> inserted;  // batch -> id range
  std::set<std::string> erased;
  std::set<std::string> erase_begun;  // an erase begun but not acknowledged may have landed
  std::set<std::string> updated;
};

// Reads "ack" lines until `deadline`, then kills the child with SIGKILL.
void run_and_kill(Child c, std::chrono::milliseconds after, Acks* acks) {
  std::thread killer([&] {
    std::this_thread::sleep_for(after);
    kill(c.pid, SIGKILL);
  });
  char line[256];
  while (std::fgets(line, sizeof line, c.out)) {
    std::istringstream in(line);
    std::string ack, op, batch;
    in >> ack >> op >> batch;
    if (op == "insert") {
      unsigned long long first, last;
      in >> first >> last;
      acks->inserted[batch] = {first, last};
    } else if (op == "erase" && ack == "begin") {
      acks->erase_begun.insert(batch);
    } else if (op == "erase") {
      acks->erased.insert(batch);
    } else if (op == "update") {
      acks->updated.insert(batch);
    }
  }
  killer.join();
  int status = 0;
  waitpid(c.pid, &status, 0);
  fclose(c.out);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child must have been killed, not have stopped by itself (status " << status << ")";
}

void verify(const std::string& dir, const Acks& acks) {
  auto db = Database::open(dir);
  if (!db->has_memory("crash")) {  // killed before it created the memory
    ASSERT_TRUE(acks.inserted.empty());
    return;
  }
  auto mem = db->memory("crash");
  const auto slots = testing::all_slots(*mem);
  const auto stats = mem->stats();

  // The index holds exactly the store's ids: the same count, and every stored key finds itself.
  ASSERT_EQ(stats.slots, slots.size());
  ASSERT_EQ(stats.indexed, slots.size());
  if (!slots.empty()) {
    std::vector<float> keys;
    for (const auto& s : slots) keys.insert(keys.end(), s.key.begin(), s.key.end());
    auto found = mem->search(MatrixView(keys, 8), {.k = 1});
    for (std::size_t i = 0; i < slots.size(); ++i) ASSERT_EQ(found.ids[i], slots[i].id);
  }

  // Group by batch: a batch is whole (20 slots) or absent.
  std::map<std::string, std::vector<const Slot*>> by_batch;
  for (const auto& s : slots) by_batch[nlohmann::json::parse(s.payload).at("b").get<std::string>()].push_back(&s);
  // The payload index agrees with the payloads: a filter on an indexed field selects exactly the
  // slots whose payload holds the value (the filtered search of a Flat memory returns them all).
  auto selected = [&](const std::string& filter) {
    SearchOptions o;
    o.k = kMaxK;
    o.filter = Filter::parse(filter);
    std::set<SlotId> ids;
    const std::vector<float> q(8, 0.0f);
    for (SlotId id : mem->search(MatrixView(q.data(), 1, 8), o).ids)
      if (id != kNoSlot) ids.insert(id);
    return ids;
  };
  // (A sample of the batches, spread over them: each check is a search.)
  std::size_t nth = 0;
  for (const auto& [batch, members] : by_batch) {
    if (nth++ % (by_batch.size() / 24 + 1) != 0) continue;
    std::set<SlotId> want;
    for (const Slot* s : members) want.insert(s->id);
    ASSERT_EQ(selected(R"({"must":[{"key":"b","match":{"value":")" + batch + R"("}}]})"), want) << batch;
    const auto n = nlohmann::json::parse(members.front()->payload).at("n").get<int>();
    std::set<SlotId> with_n = selected(R"({"must":[{"key":"n","range":{"gte":)" + std::to_string(n) + R"(,"lte":)" +
                                       std::to_string(n) + "}}]}");
    for (SlotId id : want) ASSERT_TRUE(with_n.count(id)) << batch;
  }
  std::set<SlotId> updated_ids, all_ids;
  for (const auto& s : slots) {
    all_ids.insert(s.id);
    if (nlohmann::json::parse(s.payload).contains("u")) updated_ids.insert(s.id);
  }
  if (all_ids.size() <= static_cast<std::size_t>(kMaxK)) {
    ASSERT_EQ(selected(R"({"must":[{"key":"u","exists":true}]})"), updated_ids);
    std::set<SlotId> rest;
    std::set_difference(all_ids.begin(), all_ids.end(), updated_ids.begin(), updated_ids.end(), std::inserter(rest, rest.end()));
    ASSERT_EQ(selected(R"({"must_not":[{"key":"u","exists":true}]})"), rest);
  }
  for (const auto& [batch, members] : by_batch) {
    ASSERT_EQ(members.size(), 20u) << "batch " << batch << " is half applied";
    // An update gives every slot of a batch one value: all or none of them (gated writes,
    // which set a marker value <= -1000, may have overwritten some since).
    std::set<std::vector<float>> uniform;
    for (const Slot* s : members) {
      const bool written = s->value[0] <= -1000.0f;
      const bool constant = std::all_of(s->value.begin(), s->value.end(), [&](float v) { return v == s->value[0]; });
      if (!written && constant) uniform.insert(s->value);
    }
    std::size_t not_written = 0;
    for (const Slot* s : members) not_written += s->value[0] > -1000.0f;
    if (!uniform.empty()) {
      std::size_t with_update = 0;
      for (const Slot* s : members) with_update += uniform.count(s->value);
      ASSERT_EQ(with_update, not_written) << "batch " << batch << " has an update half applied";
    }
  }
  // Every acknowledged insert is present unless its erase was acknowledged; acknowledged
  // erases are gone.
  for (const auto& [batch, range] : acks.inserted) {
    const bool present = by_batch.count(batch) > 0;
    if (acks.erased.count(batch)) {
      ASSERT_FALSE(present) << "acknowledged erase of " << batch << " was lost";
    } else if (!acks.erase_begun.count(batch)) {
      ASSERT_TRUE(present) << "acknowledged insert of " << batch << " was lost";
      EXPECT_EQ(by_batch.at(batch).front()->id, range.first);
    } else if (present) {
      EXPECT_EQ(by_batch.at(batch).front()->id, range.first);
    }
  }
  for (const auto& batch : acks.updated) {
    if (!by_batch.count(batch)) continue;
    std::size_t updated = 0;
    for (const Slot* s : by_batch.at(batch)) updated += std::all_of(s->value.begin(), s->value.end(), [&](float v) { return v == s->value[0]; });
    EXPECT_GT(updated, 0u) << "acknowledged update of " << batch << " was lost";
  }
}

TEST(CrashTest, KillNineDuringBatchedWritesLosesNoAcknowledgedOperation) {
  TempDir dir;
  Acks acks;
  std::mt19937 rng(2024);
  const int rounds = 24;
  for (int round = 0; round < rounds; ++round) {
    Child c = spawn({ENGRAM_CRASH_CHILD, "work", dir.path(), std::to_string(round), std::to_string(round * 7 + 1)});
    const auto after = std::chrono::milliseconds(150 + rng() % 500);
    run_and_kill(c, after, &acks);
    SCOPED_TRACE("round " + std::to_string(round));
    verify(dir.path(), acks);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(acks.inserted.size(), static_cast<std::size_t>(rounds)) << "the child did too little work to test anything";
  EXPECT_FALSE(acks.erased.empty());
  EXPECT_FALSE(acks.updated.empty());
}

TEST(CrashTest, ExitWithoutCheckpointCatchesUpFromTheOpLog) {
  TempDir dir;
  // First run: 30 batches and a clean close (checkpoint written).
  Child c = spawn({ENGRAM_CRASH_CHILD, "stop-after", dir.path(), "30", "1"});
  int status;
  char buf[64];
  while (std::fgets(buf, sizeof buf, c.out)) {}
  waitpid(c.pid, &status, 0);
  fclose(c.out);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  {
    auto db = Database::open(dir.path());
    auto mem = db->memory("crash");
    EXPECT_EQ(mem->stats().slots, 300u);
    EXPECT_EQ(mem->stats().indexed, 300u);
  }  // closes with a checkpoint at op 30
  // Second run dies without a checkpoint: the reopen must catch up 20 ops from the op log.
  c = spawn({ENGRAM_CRASH_CHILD, "stop-after", dir.path(), "20", "2"});
  while (std::fgets(buf, sizeof buf, c.out)) {}
  waitpid(c.pid, &status, 0);
  fclose(c.out);
  auto db = Database::open(dir.path());
  auto mem = db->memory("crash");
  auto st = mem->stats();
  EXPECT_EQ(st.slots, 500u);
  EXPECT_EQ(st.indexed, 500u);
  EXPECT_EQ(st.op_seq, 50u);
  EXPECT_EQ(st.checkpoint_op_seq, 30u) << "the checkpoint was loaded and caught up, not rebuilt";
}

TEST(CrashTest, ASecondProcessCannotOpenAnOpenDatabase) {
  TempDir dir;
  auto db = Database::open(dir.path());
  Child c = spawn({ENGRAM_CRASH_CHILD, "probe-open", dir.path()});
  char buf[64];
  while (std::fgets(buf, sizeof buf, c.out)) {}
  int status;
  waitpid(c.pid, &status, 0);
  fclose(c.out);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3) << "expected kBusy from the second process";
  db.reset();
  c = spawn({ENGRAM_CRASH_CHILD, "probe-open", dir.path()});
  while (std::fgets(buf, sizeof buf, c.out)) {}
  waitpid(c.pid, &status, 0);
  fclose(c.out);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "once closed, another process may open it";
}

}  // namespace
}  // namespace engram
