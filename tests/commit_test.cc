// The store write and the index apply are one unit: when applying a change to the index fails,
// the change is undone in the store too, so a refused request leaves nothing behind — now and
// after a reopen. detail::fail_index_apply_for_testing makes the apply step throw.
#include <gtest/gtest.h>

#include <cstdlib>

#include "api/src/memory_core.h"
#include "engram/engram.h"
#include "tests/test_util.h"

namespace engram {
namespace {

using testing::all_slots;
using testing::make_config;
using testing::random_matrix;
using testing::TempDir;

class FailPoint {
 public:
  FailPoint() { detail::fail_index_apply_for_testing(true); }
  ~FailPoint() { detail::fail_index_apply_for_testing(false); }
};

// What a caller can observe of a memory: its slots, counts and a search.
struct Observed {
  std::vector<Slot> slots;
  std::uint64_t live = 0;
  std::vector<SlotId> nearest;
  bool operator==(const Observed& o) const {
    if (slots.size() != o.slots.size() || live != o.live || nearest != o.nearest) return false;
    for (std::size_t i = 0; i < slots.size(); ++i) {
      if (slots[i].id != o.slots[i].id || slots[i].key != o.slots[i].key ||
          slots[i].value != o.slots[i].value || slots[i].payload != o.slots[i].payload)
        return false;
    }
    return true;
  }
};

Observed observe(Memory& m, const std::vector<float>& queries) {
  Observed o;
  o.slots = all_slots(m);
  o.live = m.stats().slots;
  o.nearest = m.search(MatrixView(queries, 8), {.k = 5}).ids;
  return o;
}

class CommitUnitTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    db_ = Database::open(dir_.path());
    mem_ = db_->create_memory("m", make_config(8, 4, GetParam()));
    auto keys = random_matrix(200, 8, 1), values = random_matrix(200, 4, 2);  // enough to train IVF4
    mem_->insert(MatrixView(keys, 8), MatrixView(values, 4), std::vector<std::string>(200, "p"));
    queries_ = random_matrix(6, 8, 3);
    before_ = observe(*mem_, queries_);
  }

  // After a refused change: the same now, and the same after reopening (the store holds the undo).
  void expect_unchanged() {
    EXPECT_TRUE(observe(*mem_, queries_) == before_) << "changed in place";
    mem_.reset();
    db_.reset();
    db_ = Database::open(dir_.path());
    mem_ = db_->memory("m");
    EXPECT_TRUE(observe(*mem_, queries_) == before_) << "changed after reopening";
    // And the memory still takes writes that succeed.
    auto k = random_matrix(1, 8, 9), v = random_matrix(1, 4, 9);
    EXPECT_EQ(mem_->insert(MatrixView(k, 8), MatrixView(v, 4)).size(), 1u);
    EXPECT_EQ(mem_->stats().slots, before_.live + 1);
  }

  TempDir dir_;
  std::unique_ptr<Database> db_;
  std::shared_ptr<Memory> mem_;
  std::vector<float> queries_;
  Observed before_;
};

TEST_P(CommitUnitTest, AnInsertTheIndexRefusesLeavesNoSlot) {
  auto keys = random_matrix(5, 8, 4), values = random_matrix(5, 4, 5);
  {
    FailPoint fp;
    EXPECT_THROW(mem_->insert(MatrixView(keys, 8), MatrixView(values, 4)), Error);
  }
  expect_unchanged();
}

TEST_P(CommitUnitTest, AnUpdateTheIndexRefusesRestoresKeysValuesAndPayloads) {
  std::vector<SlotPatch> patches(2);
  patches[0].id = 3;
  patches[0].key = random_matrix(1, 8, 6);
  patches[0].value = random_matrix(1, 4, 6);
  patches[0].payload = "changed";
  patches[1].id = 7;
  patches[1].key = random_matrix(1, 8, 7);
  {
    FailPoint fp;
    EXPECT_THROW(mem_->update(patches), Error);
  }
  expect_unchanged();
}

TEST_P(CommitUnitTest, AnEraseTheIndexRefusesKeepsTheSlots) {
  {
    FailPoint fp;
    EXPECT_THROW(mem_->erase({1, 2, 30}), Error);
  }
  expect_unchanged();
}

INSTANTIATE_TEST_SUITE_P(Indexes, CommitUnitTest, ::testing::Values("Flat", "HNSW16", "HNSWlib16", "IVF4,Flat"));

}  // namespace
}  // namespace engram
