// The caller's own ids (ExternalId), upsert and scroll: insert with ids, upsert idempotence,
// replacement keeps the slot and re-keys it in the index, every by-id call through resolve(),
// durability across a reopen, atomic refusal, and a scroll that sees every slot exactly once
// while writers insert and erase.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "engram/engram.h"
#include "tests/test_util.h"

namespace engram {
namespace {

using testing::TempDir;

constexpr int kDim = 8;

std::vector<float> row(float x) {
  std::vector<float> v(kDim, 0.0f);
  v[0] = x;
  v[1] = 1.0f;
  return v;
}

std::vector<float> rows(const std::vector<float>& xs) {
  std::vector<float> out;
  for (float x : xs) {
    const auto r = row(x);
    out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

class ExternalIdsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { open(); }
  void open() {
    db_ = Database::open(dir_.sub("db"));
    mem_ = db_->has_memory("m") ? db_->memory("m") : db_->create_memory("m", testing::make_config(kDim, kDim, GetParam()));
  }
  void reopen() {
    mem_.reset();
    db_.reset();
    open();
  }
  TempDir dir_;
  std::unique_ptr<Database> db_;
  std::shared_ptr<Memory> mem_;
};

TEST_P(ExternalIdsTest, UpsertTwiceLeavesOneCopyAndKeepsTheSlotIds) {
  const auto keys = rows({1, 2, 3}), values = rows({10, 20, 30});
  const std::vector<ExternalId> ids = {"doc-1", "doc-2", 7};
  const auto first = mem_->upsert(ids, MatrixView(keys, kDim), MatrixView(values, kDim), {"a", "b", "c"});
  const auto second = mem_->upsert(ids, MatrixView(keys, kDim), MatrixView(values, kDim), {"a", "b", "c"});
  EXPECT_EQ(first, second);
  EXPECT_EQ(mem_->count(), 3u);
  EXPECT_EQ(mem_->resolve({7, "doc-2"}), (std::vector<SlotId>{first[2], first[1]}));
  const Slot s = mem_->get_one(first[0]);
  ASSERT_TRUE(s.external_id.has_value());
  EXPECT_EQ(*s.external_id, ExternalId("doc-1"));
  EXPECT_FALSE(mem_->get_one(mem_->insert_one(row(9), row(9))).external_id.has_value());
}

TEST_P(ExternalIdsTest, UpsertReplacesKeyValueAndPayloadInTheIndex) {
  const auto ids = mem_->upsert({"a", "b"}, MatrixView(rows({1, 2}), kDim), MatrixView(rows({1, 2}), kDim), {"old", "keep"});
  // "a" moves to a new key (the search must find it there, and not at the old one), "c" is new.
  const auto again = mem_->upsert({"a", "c"}, MatrixView(rows({-5, 3}), kDim), MatrixView(rows({50, 3}), kDim), {"", "new"});
  EXPECT_EQ(again[0], ids[0]);
  EXPECT_EQ(mem_->count(), 3u);
  const Slot a = mem_->get_one(ids[0]);
  EXPECT_EQ(a.key, row(-5));
  EXPECT_EQ(a.value, row(50));
  EXPECT_EQ(a.payload, "");  // replaced, not kept
  EXPECT_EQ(mem_->get_one(ids[1]).payload, "keep");
  const auto hits = mem_->search(MatrixView(row(100).data(), 1, kDim), {.k = 3});
  EXPECT_EQ(hits.ids[2], ids[0]);  // q·k is lowest for the re-keyed slot along its old key ...
  const auto top = mem_->search(MatrixView(row(-100).data(), 1, kDim), {.k = 1});
  EXPECT_EQ(top.ids[0], ids[0]);  // ... and highest for a query along its new key
  reopen();
  EXPECT_EQ(mem_->resolve({"a", "b", "c"}), (std::vector<SlotId>{ids[0], ids[1], again[1]}));
  EXPECT_EQ(mem_->search(MatrixView(row(-100).data(), 1, kDim), {.k = 1}).ids[0], ids[0]);
}

TEST_P(ExternalIdsTest, InsertWithTakenIdChangesNothing) {
  mem_->insert({"x"}, MatrixView(rows({1}), kDim), MatrixView(rows({1}), kDim));
  try {
    mem_->insert({"y", "x"}, MatrixView(rows({2, 3}), kDim), MatrixView(rows({2, 3}), kDim));
    FAIL() << "a taken id was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kAlreadyExists);
    EXPECT_NE(std::string(e.what()).find("\"x\""), std::string::npos) << e.what();
  }
  EXPECT_EQ(mem_->count(), 1u);
  EXPECT_THROW(mem_->resolve({"y"}), Error);
  // Repeats in a batch, empty or oversized strings, and a count mismatch are refused whole.
  for (const std::vector<ExternalId>& bad : std::vector<std::vector<ExternalId>>{
           {"p", "p"}, {"", "q"}, {std::string(kMaxExternalIdBytes + 1, 'z'), "q"}, {"only-one"}}) {
    EXPECT_THROW(mem_->upsert(bad, MatrixView(rows({4, 5}), kDim), MatrixView(rows({4, 5}), kDim)), Error);
  }
  EXPECT_EQ(mem_->count(), 1u);
}

TEST_P(ExternalIdsTest, NumbersAndStringsAreDifferentIdsAndEraseFreesThem) {
  const auto ids = mem_->upsert({7, "7"}, MatrixView(rows({1, 2}), kDim), MatrixView(rows({1, 2}), kDim));
  EXPECT_NE(ids[0], ids[1]);
  mem_->erase(mem_->resolve({7}));
  EXPECT_THROW(mem_->resolve({7}), Error);
  EXPECT_EQ(mem_->resolve({"7"}), std::vector<SlotId>{ids[1]});
  // The id is free again: a new slot takes it.
  const auto fresh = mem_->insert({7}, MatrixView(rows({3}), kDim), MatrixView(rows({3}), kDim));
  EXPECT_NE(fresh[0], ids[0]);
  EXPECT_EQ(mem_->resolve({7}), fresh);
  // Erasing by filter frees ids too.
  mem_->erase_matching(Filter::parse(R"({"must":[{"has_id":[)" + std::to_string(ids[1]) + "]}]}"));
  EXPECT_THROW(mem_->resolve({"7"}), Error);
  reopen();
  EXPECT_EQ(mem_->resolve({7}), fresh);
  EXPECT_THROW(mem_->resolve({"7"}), Error);
}

// Every slot that exists from the first page to the last is seen exactly once, while another
// thread inserts new slots and erases some of its own.
TEST_P(ExternalIdsTest, ScrollSeesEverySlotOnceWhileWritesHappen) {
  std::vector<float> xs;
  for (int i = 0; i < 600; ++i) xs.push_back(static_cast<float>(i % 17));
  const auto keys = rows(xs);
  std::vector<std::string> payloads;
  for (int i = 0; i < 600; ++i) payloads.push_back(R"({"n":)" + std::to_string(i) + "}");
  const auto original = mem_->insert(MatrixView(keys, kDim), MatrixView(keys, kDim), payloads);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      const auto id = mem_->insert_one(row(1), row(1), R"({"n":-1})");
      if (i % 2) mem_->erase_one(id);
    }
  });
  std::map<SlotId, int> seen;
  ScrollOptions o;
  o.limit = 37;
  int pages = 0;
  do {
    const ScrollPage page = mem_->scroll(o);
    for (std::size_t i = 0; i < page.slots.size(); ++i) {
      ++seen[page.slots[i].id];
      if (i) EXPECT_LT(page.slots[i - 1].id, page.slots[i].id);
      EXPECT_TRUE(page.slots[i].key.empty());
    }
    o.cursor = page.next_cursor;
    ++pages;
  } while (!o.cursor.empty());
  stop = true;
  writer.join();
  for (SlotId id : original) EXPECT_EQ(seen[id], 1) << "slot " << id;
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << "slot " << id;
  EXPECT_GE(pages, 600 / 37);
}

TEST_P(ExternalIdsTest, ScrollFiltersAndReturnsKeysAndValuesWhenAsked) {
  std::vector<std::string> payloads;
  std::vector<float> xs;
  for (int i = 0; i < 300; ++i) {
    payloads.push_back(R"({"even":)" + std::string(i % 2 ? "false" : "true") + "}");
    xs.push_back(static_cast<float>(i));
  }
  const auto ids = mem_->insert(MatrixView(rows(xs), kDim), MatrixView(rows(xs), kDim), payloads);
  ScrollOptions o;
  o.limit = 40;
  o.filter = Filter::parse(R"({"must":[{"key":"even","match":{"value":true}}]})");
  o.with_keys = o.with_values = true;
  std::vector<SlotId> got;
  do {
    const ScrollPage page = mem_->scroll(o);
    for (const Slot& s : page.slots) {
      got.push_back(s.id);
      EXPECT_EQ(s.key, row(static_cast<float>(s.id - ids[0])));
      EXPECT_EQ(s.value, s.key);
    }
    o.cursor = page.next_cursor;
  } while (!o.cursor.empty());
  std::vector<SlotId> want;
  for (std::size_t i = 0; i < ids.size(); i += 2) want.push_back(ids[i]);
  EXPECT_EQ(got, want);
  o.cursor = "not-a-cursor";
  EXPECT_THROW(mem_->scroll(o), Error);
  o.cursor.clear();
  o.limit = 0;
  EXPECT_THROW(mem_->scroll(o), Error);
}

INSTANTIATE_TEST_SUITE_P(Indexes, ExternalIdsTest, ::testing::Values("Flat", "HNSWlib16", "HNSW16"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace engram
