// The payload index (Memory::create_payload_index): a filter over indexed fields selects exactly
// the slots Filter::matches accepts — a property test on random payloads, random filters and
// random changes (insert, update, upsert, erase, erase by filter) — with and without the index;
// the index survives a reopen, follows bulk loads, and is rebuilt when a crash left it marked.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <set>

#include "engram/engram.h"
#include "engram/bulk_load.h"
#include "storage/keys.h"
#include "storage/slot_store.h"
#include "tests/test_util.h"

namespace engram {
namespace {

using json = nlohmann::json;
using testing::TempDir;

constexpr int kDim = 4;

class RandomPayloads {
 public:
  explicit RandomPayloads(std::uint32_t seed) : rng_(seed) {}

  std::string payload() {
    if (pick(10) == 0) return pick(2) ? "" : "plain text, not JSON";
    json p = json::object();
    switch (pick(6)) {  // source: mostly a string, sometimes something else
      case 0: break;
      case 1: p["source"] = nullptr; break;
      case 2: p["source"] = 5; break;
      default: p["source"] = kSources[pick(3)];
    }
    switch (pick(6)) {  // year: an integer, a fraction, an array, a string, missing
      case 0: break;
      case 1: p["year"] = 2010.5; break;
      case 2: p["year"] = json::array({2000 + pick(25), 2000 + pick(25)}); break;
      case 3: p["year"] = "2020"; break;
      default: p["year"] = 2000 + pick(25);
    }
    if (pick(3)) {
      json tags = json::array();
      for (int i = pick(3); i > 0; --i) tags.push_back(kTags[pick(4)]);
      p["tags"] = tags;
    }
    if (pick(2)) p["flag"] = pick(2) == 1;
    // Integers beyond 2^53, and doubles next to them: equality must be exact.
    if (pick(4) == 0) p["big"] = pick(2) ? json(9007199254740993LL) : json(9007199254740992.0);
    if (pick(4) == 0) p["meta"] = {{"lang", pick(2) ? "en" : "de"}};
    return p.dump();
  }

  json condition(int depth) {
    switch (pick(depth < 2 ? 9 : 8)) {
      case 0: return {{"key", "source"}, {"match", {{"value", kSources[pick(3)]}}}};
      case 1: return {{"key", "source"}, {"match", {{"any", {kSources[pick(3)], 5}}}}};
      case 2: {
        json r = json::object();
        const char* lower[] = {"gt", "gte"};
        const char* upper[] = {"lt", "lte"};
        if (pick(3)) r[lower[pick(2)]] = 2000 + pick(25) + (pick(3) == 0 ? 0.5 : 0.0);
        if (pick(3) || r.empty()) r[upper[pick(2)]] = 2000 + pick(25);
        return {{"key", "year"}, {"range", r}};
      }
      case 3: return {{"key", "tags"}, {"match", {{"any", {kTags[pick(4)], kTags[pick(4)]}}}}};
      case 4: return {{"key", "flag"}, {"match", {{"value", pick(2) == 1}}}};
      case 5: return {{"key", kExistsKeys[pick(4)]}, {"exists", pick(2) == 1}};
      case 6: return {{"key", "big"}, {"match", {{"value", pick(2) ? 9007199254740993LL : 9007199254740992LL}}}};
      case 7: {
        json ids = json::array();
        for (int i = pick(20); i > 0; --i) ids.push_back(pick(400));
        return {{"has_id", ids}};
      }
      default: return filter(depth + 1);
    }
  }

  json filter(int depth = 0) {
    json f = json::object();
    for (const char* part : {"must", "should", "must_not"}) {
      if (pick(2) == 0) continue;
      json list = json::array();
      for (int i = 1 + pick(2); i > 0; --i) list.push_back(condition(depth));
      f[part] = list;
    }
    if (f.empty()) f["must"] = json::array({condition(depth)});
    return f;
  }

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

 private:
  static constexpr const char* kSources[] = {"wiki", "news", "blog"};
  static constexpr const char* kTags[] = {"a", "b", "c", "d"};
  static constexpr const char* kExistsKeys[] = {"source", "tags", "meta.lang", "flag"};
  std::mt19937 rng_;
};

std::vector<float> keys_for(std::size_t n, std::uint32_t seed) { return testing::random_matrix(n, kDim, seed); }

// The slots `filter` selects through the memory's filtered search (Flat: exhaustive, so every
// accepted slot comes back), and through Filter::matches on every stored payload.
std::pair<std::set<SlotId>, std::set<SlotId>> selected(Memory& m, const Filter& filter) {
  std::set<SlotId> searched, reference;
  const std::vector<float> q(kDim, 1.0f);
  SearchOptions o;
  o.k = kMaxK;
  o.filter = filter;
  for (SlotId id : m.search(MatrixView(q.data(), 1, kDim), o).ids)
    if (id != kNoSlot) searched.insert(id);
  for (const Slot& s : testing::all_slots(m))
    if (filter.matches(s.id, s.payload)) reference.insert(s.id);
  return {searched, reference};
}

TEST(PayloadIndexTest, IndexedFiltersSelectExactlyWhatFilterMatchesAcceptsThroughChanges) {
  TempDir dir;
  auto db = Database::open(dir.path());
  auto indexed = db->create_memory("indexed", testing::make_config(kDim, kDim));
  auto scanned = db->create_memory("scanned", testing::make_config(kDim, kDim));
  for (const char* f : {"source", "year", "tags", "flag", "big", "meta.lang"}) indexed->create_payload_index(f);
  EXPECT_EQ(indexed->payload_indexes().size(), 6u);
  RandomPayloads gen(7);
  std::vector<std::string> payloads;
  for (int i = 0; i < 300; ++i) payloads.push_back(gen.payload());
  const auto keys = keys_for(300, 1);
  for (auto* m : {indexed.get(), scanned.get()}) m->insert(MatrixView(keys, kDim), MatrixView(keys, kDim), payloads);

  for (int round = 0; round < 12; ++round) {
    for (int t = 0; t < 25; ++t) {
      const Filter f = Filter::parse(gen.filter().dump());
      const auto [searched, reference] = selected(*indexed, f);
      EXPECT_EQ(searched, reference) << "round " << round << ": " << f.json();
      EXPECT_EQ(selected(*scanned, f).first, reference) << "scan path: " << f.json();
    }
    // Change both memories the same way: patch payloads, erase, insert, upsert, erase by filter.
    std::vector<SlotPatch> patches;
    std::vector<SlotId> live = indexed->list_ids(), gone;
    for (int i = 0; i < 20; ++i) {
      SlotPatch p;
      p.id = live[static_cast<std::size_t>(gen.pick(static_cast<int>(live.size())))];
      p.payload = gen.payload();
      patches.push_back(p);
    }
    for (int i = 0; i < 5; ++i) gone.push_back(live[static_cast<std::size_t>(gen.pick(static_cast<int>(live.size())))]);
    std::sort(gone.begin(), gone.end());
    gone.erase(std::unique(gone.begin(), gone.end()), gone.end());
    std::vector<std::string> fresh;
    std::vector<ExternalId> ext;
    for (int i = 0; i < 10; ++i) {
      fresh.push_back(gen.payload());
      ext.push_back("doc-" + std::to_string(gen.pick(15)));
    }
    std::sort(ext.begin(), ext.end(), [](const ExternalId& a, const ExternalId& b) { return a.text() < b.text(); });
    ext.erase(std::unique(ext.begin(), ext.end()), ext.end());
    fresh.resize(ext.size());
    const auto more = keys_for(ext.size(), 100 + static_cast<std::uint32_t>(round));
    const Filter doomed = Filter::parse(R"({"must":[{"key":"year","range":{"gte":2024}},{"key":"flag","match":{"value":true}}]})");
    for (auto* m : {indexed.get(), scanned.get()}) {
      m->update(patches);
      m->erase(gone);
      m->insert(MatrixView(more, kDim), MatrixView(more, kDim), fresh);
      m->upsert(ext, MatrixView(more, kDim), MatrixView(more, kDim), fresh);
      m->erase_matching(doomed);
    }
    EXPECT_EQ(indexed->count(), scanned->count());
  }
  // Reopened, the index reads back from the store and still agrees.
  indexed.reset();
  scanned.reset();
  db.reset();
  db = Database::open(dir.path());
  indexed = db->memory("indexed");
  EXPECT_EQ(indexed->payload_indexes().size(), 6u);
  for (int t = 0; t < 50; ++t) {
    const Filter f = Filter::parse(gen.filter().dump());
    const auto [searched, reference] = selected(*indexed, f);
    EXPECT_EQ(searched, reference) << f.json();
  }
}

TEST(PayloadIndexTest, DroppedIndexLeavesFiltersWorkingAndBadKeysAreRefused) {
  TempDir dir;
  auto db = Database::open(dir.path());
  auto m = db->create_memory("m", testing::make_config(kDim, kDim));
  const auto keys = keys_for(3, 2);
  m->insert(MatrixView(keys, kDim), MatrixView(keys, kDim), {R"({"a":1})", R"({"a":2})", R"({"ab":1})"});
  m->create_payload_index("a");
  m->create_payload_index("ab");
  m->create_payload_index("a");  // no-op
  EXPECT_EQ(m->payload_indexes(), (std::vector<std::string>{"a", "ab"}));
  const Filter f = Filter::parse(R"({"must":[{"key":"a","match":{"value":1}}]})");
  EXPECT_EQ(selected(*m, f).first, (std::set<SlotId>{0}));
  m->drop_payload_index("a");
  EXPECT_EQ(m->payload_indexes(), std::vector<std::string>{"ab"});
  EXPECT_EQ(selected(*m, f).first, (std::set<SlotId>{0}));  // by a scan now
  EXPECT_EQ(selected(*m, Filter::parse(R"({"must":[{"key":"ab","exists":true}]})")).first, (std::set<SlotId>{2}));
  EXPECT_THROW(m->drop_payload_index("a"), Error);
  EXPECT_THROW(m->create_payload_index("a..b"), Error);
  EXPECT_THROW(m->create_payload_index(""), Error);
  // The dropped field's entries are gone from the store; the other field's are not.
  m.reset();
  db.reset();
  auto store = storage::SlotStore::open(dir.path() + "/store", {});
  std::size_t a = 0, ab = 0;
  store->scan_index_entries(storage::index_entry_prefix(1, "a"), [&](const rocksdb::Slice&) { return ++a, true; });
  store->scan_index_entries(storage::index_entry_prefix(1, "ab"), [&](const rocksdb::Slice&) { return ++ab, true; });
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(ab, 3u);  // present, and the number 1 as a number and as an integer
}

// A crash between a bulk chunk and its index entries (or during a build) leaves the dirty
// marker; the next open rebuilds the entries from the payloads.
TEST(PayloadIndexTest, AMarkedIndexIsRebuiltAtOpen) {
  TempDir dir;
  {
    auto db = Database::open(dir.path());
    auto m = db->create_memory("m", testing::make_config(kDim, kDim));
    m->create_payload_index("k");
    const auto keys = keys_for(2, 3);
    m->insert(MatrixView(keys, kDim), MatrixView(keys, kDim), {R"({"k":"x"})", R"({"k":"y"})"});
  }
  {
    // What a crash leaves: payloads the entries do not know of, and the marker.
    auto store = storage::SlotStore::open(dir.path() + "/store", {});
    auto batch = store->new_batch(1);
    batch.put_payload(0, R"({"k":"y"})");
    batch.put_meta(storage::payload_index_meta_prefix(1), "");
    store->commit(batch, true);
  }
  auto db = Database::open(dir.path());
  auto m = db->memory("m");
  EXPECT_EQ(selected(*m, Filter::parse(R"({"must":[{"key":"k","match":{"value":"y"}}]})")).first, (std::set<SlotId>{0, 1}));
  EXPECT_EQ(selected(*m, Filter::parse(R"({"must":[{"key":"k","match":{"value":"x"}}]})")).first, std::set<SlotId>{});
}

TEST(PayloadIndexTest, BulkLoadsAreIndexed) {
  TempDir dir;
  auto db = Database::open(dir.path());
  auto m = db->create_memory("m", testing::make_config(kDim, kDim));
  m->create_payload_index("n");
  const auto keys = keys_for(1000, 4);
  std::vector<std::string> payloads;
  for (int i = 0; i < 1000; ++i) payloads.push_back(R"({"n":)" + std::to_string(i % 10) + "}");
  {
    BulkLoader loader(*db, m);
    for (std::size_t b = 0; b < 1000; b += 250)
      loader.commit(loader.prepare(std::vector<float>(keys.begin() + b * kDim, keys.begin() + (b + 250) * kDim),
                                   std::vector<float>(keys.begin() + b * kDim, keys.begin() + (b + 250) * kDim),
                                   std::vector<std::string>(payloads.begin() + b, payloads.begin() + b + 250)),
                    "chunk");
    loader.finish();
  }
  const auto [searched, reference] = selected(*m, Filter::parse(R"({"must":[{"key":"n","range":{"gte":7}}]})"));
  EXPECT_EQ(searched.size(), 300u);
  EXPECT_EQ(searched, reference);
}

}  // namespace
}  // namespace engram
