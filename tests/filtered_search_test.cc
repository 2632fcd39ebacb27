// Filtered search, read, retrieve, write and erase (SearchOptions::filter, erase_matching): every
// result satisfies the filter, k results come back whenever k slots match, and recall against a
// brute-force search of the matching slots holds for every index type — in the index (the
// planner told to keep filtered searches there) and through the exact scan the planner picks for
// very selective filters.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace engram {
namespace {

using testing::TempDir;

constexpr int kDim = 16;
constexpr std::size_t kN = 3000;
constexpr std::size_t kQueries = 40;
constexpr int kK = 10;

// Slot i's payload: "bucket" i % 1000 (selectivity = buckets / 1000), a word, and a year.
std::string payload_of(std::size_t i) {
  static const char* words[] = {"wiki", "news", "book"};
  return R"({"bucket": )" + std::to_string((i * 7919) % 1000) + R"(, "source": ")" + words[i % 3] +
         R"(", "year": )" + std::to_string(2000 + i % 25) + "}";
}

std::string bucket_below(int buckets) {
  return R"({"must": [{"key": "bucket", "range": {"lt": )" + std::to_string(buckets) + "}}]}";
}

float score(const float* q, const float* k) {
  float d = 0;
  for (int i = 0; i < kDim; ++i) d += (q[i] - k[i]) * (q[i] - k[i]);
  return -d;
}

struct Case {
  const char* name;
  const char* factory;
  bool approximate;  // recall may fall short of 1
  const char* search_params = "";
};

class FilteredSearchTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    DatabaseOptions options;
    options.filter_exact_scan_max = exact_scan_max();
    db_ = Database::open(dir_.path(), options);
    auto cfg = testing::make_config(kDim, 4, GetParam().factory, Metric::kL2);
    cfg.search_params = GetParam().search_params;
    mem_ = db_->create_memory("m", cfg);
    keys_ = testing::clustered_matrix(kN, kDim, 20, 1);
    values_ = testing::random_matrix(kN, 4, 2);
    for (std::size_t i = 0; i < kN; ++i) payloads_.push_back(payload_of(i));
    mem_->insert(MatrixView(keys_, kDim), MatrixView(values_, 4), payloads_);
    mem_->train();
    queries_ = testing::clustered_matrix(kQueries, kDim, 20, 3);
  }
  virtual std::size_t exact_scan_max() const { return 0; }  // keep filtered searches in the index

  // The exact top-k of each query among the live slots `f` accepts (ids ascending on ties).
  std::vector<SlotId> brute_force(const Filter& f, std::size_t* matching) const {
    std::vector<SlotId> accepted;
    for (SlotId id = 0; id < kN; ++id)
      if (erased_.count(id) == 0 && f.matches(id, payloads_[id])) accepted.push_back(id);
    *matching = accepted.size();
    std::vector<SlotId> out(kQueries * kK, kNoSlot);
    for (std::size_t q = 0; q < kQueries; ++q) {
      std::vector<std::pair<float, SlotId>> s;
      for (SlotId id : accepted) s.emplace_back(-score(&queries_[q * kDim], &keys_[id * kDim]), id);
      std::sort(s.begin(), s.end());
      for (std::size_t j = 0; j < std::min<std::size_t>(kK, s.size()); ++j) out[q * kK + j] = s[j].second;
    }
    return out;
  }

  // Checks a search's ids: each accepted by `f`, k of them whenever k match, and returns recall.
  double check(const Filter& f, const std::vector<SlotId>& got) const {
    std::size_t matching = 0;
    const std::vector<SlotId> truth = brute_force(f, &matching);
    std::size_t hits = 0, wanted = 0;
    for (std::size_t q = 0; q < kQueries; ++q) {
      std::set<SlotId> exact(truth.begin() + q * kK, truth.begin() + (q + 1) * kK);
      exact.erase(kNoSlot);
      std::size_t returned = 0;
      for (int j = 0; j < kK; ++j) {
        const SlotId id = got[q * kK + j];
        if (id == kNoSlot) continue;
        ++returned;
        EXPECT_LT(id, kN);
        if (id >= kN) continue;
        EXPECT_TRUE(f.matches(id, payloads_[id])) << "slot " << id << " does not match " << f.json();
        EXPECT_EQ(erased_.count(id), 0u) << "erased slot " << id << " returned";
        hits += exact.count(id);
      }
      EXPECT_EQ(returned, std::min<std::size_t>(kK, matching)) << "query " << q << ", filter " << f.json();
      wanted += exact.size();
    }
    return wanted == 0 ? 1.0 : static_cast<double>(hits) / static_cast<double>(wanted);
  }

  SearchOptions filtered(const std::string& filter) const {
    SearchOptions o;
    o.k = kK;
    o.filter = Filter::parse(filter);
    return o;
  }

  TempDir dir_;
  std::unique_ptr<Database> db_;
  std::shared_ptr<Memory> mem_;
  std::vector<float> keys_, values_, queries_;
  std::vector<std::string> payloads_;
  std::set<SlotId> erased_;
};

TEST_P(FilteredSearchTest, EveryResultMatchesAndRecallHoldsAtEachSelectivity) {
  for (int buckets : {500, 100, 10, 1}) {  // 50 %, 10 %, 1 %, 0.1 %
    const SearchOptions o = filtered(bucket_below(buckets));
    const SearchResult r = mem_->search(MatrixView(queries_, kDim), o);
    const double recall = check(o.filter, r.ids);
    SCOPED_TRACE(std::string(GetParam().name) + " at " + std::to_string(buckets / 10.0) + " %");
    if (GetParam().approximate) EXPECT_GE(recall, 0.9);
    else EXPECT_EQ(recall, 1.0);
  }
}

TEST_P(FilteredSearchTest, MatchShouldAndMustNotCombine) {
  const std::string f = R"({"must": [{"key": "source", "match": {"any": ["wiki", "book"]}}],
                            "should": [{"key": "year", "range": {"gte": 2020}}, {"has_id": [1, 2, 3]}],
                            "must_not": [{"key": "bucket", "range": {"lt": 500}}]})";
  const SearchOptions o = filtered(f);
  const double recall = check(o.filter, mem_->search(MatrixView(queries_, kDim), o).ids);
  if (GetParam().approximate) EXPECT_GE(recall, 0.9);
  else EXPECT_EQ(recall, 1.0);
}

TEST_P(FilteredSearchTest, ErasedSlotsNeverComeBack) {
  // Erase half the slots of a 1 % filter: the rest still come back, k of them where k match.
  const Filter f = Filter::parse(bucket_below(10));
  std::vector<SlotId> gone;
  for (SlotId id = 0; id < kN; ++id)
    if (f.matches(id, payloads_[id]) && id % 2 == 0) gone.push_back(id);
  mem_->erase(gone);
  erased_.insert(gone.begin(), gone.end());
  SearchOptions o = filtered(bucket_below(10));
  check(o.filter, mem_->search(MatrixView(queries_, kDim), o).ids);
}

TEST_P(FilteredSearchTest, ReadRetrieveAndWriteSeeOnlyMatchingSlots) {
  const SearchOptions o = filtered(R"({"must": [{"key": "source", "match": {"value": "news"}}]})");
  const ReadResult read = mem_->read(MatrixView(queries_, kDim), o);
  check(o.filter, read.ids);
  SearchOptions ro = o;
  ro.with_payloads = true;
  const RetrieveResult got = mem_->retrieve(MatrixView(queries_, kDim), ro);
  check(o.filter, got.ids);
  for (std::size_t e = 0; e < got.ids.size(); ++e)
    if (got.ids[e] != kNoSlot) EXPECT_EQ(got.payloads[e], payloads_[got.ids[e]]);

  // The gated write updates matching slots only: every other value is as inserted.
  std::vector<float> targets(kQueries * 4, 5.0f);
  const WriteResult w = mem_->write(MatrixView(queries_, kDim), MatrixView(targets, 4), o);
  check(o.filter, w.ids);
  const std::set<SlotId> written(w.ids.begin(), w.ids.end());
  for (const Slot& s : testing::all_slots(*mem_)) {
    if (written.count(s.id)) continue;
    EXPECT_EQ(s.value, std::vector<float>(values_.begin() + s.id * 4, values_.begin() + (s.id + 1) * 4)) << s.id;
  }
}

TEST_P(FilteredSearchTest, EraseMatchingErasesExactlyTheMatchingSlots) {
  const Filter f = Filter::parse(R"({"must": [{"key": "year", "range": {"gte": 2010, "lt": 2012}}]})");
  std::size_t expected = 0;
  for (SlotId id = 0; id < kN; ++id) expected += f.matches(id, payloads_[id]);
  EXPECT_EQ(mem_->erase_matching(f), expected);
  EXPECT_EQ(mem_->stats().slots, kN - expected);
  for (const Slot& s : testing::all_slots(*mem_)) EXPECT_FALSE(f.matches(s.id, s.payload)) << s.id;
  EXPECT_EQ(mem_->erase_matching(f), 0u);
  EXPECT_THROW(mem_->erase_matching(Filter()), Error);  // {} would erase everything
  EXPECT_EQ(mem_->stats().slots, kN - expected);
}

// The planner's exact scan (a memory with the default threshold): very selective filters are
// searched exactly, so recall is 1 for every index type.
class PlannedSearchTest : public FilteredSearchTest {
  std::size_t exact_scan_max() const override { return DatabaseOptions().filter_exact_scan_max; }
};

TEST_P(PlannedSearchTest, SelectiveFiltersAreSearchedExactly) {
  for (int buckets : {10, 1}) {
    const SearchOptions o = filtered(bucket_below(buckets));
    EXPECT_EQ(check(o.filter, mem_->search(MatrixView(queries_, kDim), o).ids), 1.0) << buckets;
  }
  const SearchOptions ids = filtered(R"({"must": [{"has_id": [5, 17, 2999, 100000]}]})");
  EXPECT_EQ(check(ids.filter, mem_->search(MatrixView(queries_, kDim), ids).ids), 1.0);
}

// A batch of queries shares the exact scan's gather of the accepted keys: an IVF memory searches
// a batch exactly up to a larger share (20 %) than one query (0.5 %). With nprobe 1 of 64 lists
// the in-index search would miss most neighbours; the batch at 10 % finds them all.
TEST(PlannedSearchBatchTest, AnIvfBatchAtTenPercentIsSearchedExactly) {
  TempDir dir;
  DatabaseOptions options;
  options.filter_exact_scan_max = 100;  // the 300 accepted slots are not "few"
  auto db = Database::open(dir.path(), options);
  auto cfg = testing::make_config(kDim, 4, "IVF64,Flat", Metric::kL2);
  cfg.search_params = "nprobe=1";
  auto mem = db->create_memory("m", cfg);
  const auto keys = testing::random_matrix(kN, kDim, 11), values = testing::random_matrix(kN, 4, 12);
  std::vector<std::string> payloads;
  for (std::size_t i = 0; i < kN; ++i) payloads.push_back(payload_of(i));
  const auto ids = mem->insert(MatrixView(keys, kDim), MatrixView(values, 4), payloads);
  if (!mem->stats().trained) mem->train();
  SearchOptions o;
  o.k = kK;
  o.filter = Filter::parse(bucket_below(100));
  const auto queries = testing::random_matrix(kQueries, kDim, 13);
  const SearchResult r = mem->search(MatrixView(queries, kDim), o);
  for (std::size_t q = 0; q < kQueries; ++q) {
    std::vector<std::pair<float, SlotId>> truth;
    for (std::size_t i = 0; i < kN; ++i)
      if (o.filter.matches(ids[i], payloads[i])) truth.emplace_back(score(&queries[q * kDim], &keys[i * kDim]), ids[i]);
    std::sort(truth.begin(), truth.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (int j = 0; j < kK; ++j)
      EXPECT_EQ(r.ids[q * kK + static_cast<std::size_t>(j)], truth[static_cast<std::size_t>(j)].second) << "query " << q << " rank " << j;
  }
}

const Case kCases[] = {
    {"Flat", "Flat", false},          {"HNSW", "HNSW16", true},  {"IVF", "IVF32,Flat", true},
    {"HNSWlib", "HNSWlib16", true},   {"SQ8", "SQ8", true},      {"PQ_exact", "PQ4", false},
    // A rotation (the transform loses nothing); Engram's default nprobe does not reach an IVF behind
    // a transform, so the case sets one.
    {"PCA_IVF", "PCA16,IVF16,Flat", true, "nprobe=4"},
};
std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }
INSTANTIATE_TEST_SUITE_P(Indexes, FilteredSearchTest, ::testing::ValuesIn(kCases), case_name);
INSTANTIATE_TEST_SUITE_P(Indexes, PlannedSearchTest, ::testing::ValuesIn(kCases), case_name);

// Filtered searches (in the index and exact) while another thread inserts and erases matching
// slots: every result is a live slot that matches, and nothing throws.
TEST_P(FilteredSearchTest, SearchesWhileWritersInsertAndErase) {
  const Filter f = Filter::parse(bucket_below(20));
  const std::string inserted = R"({"bucket": 3})";  // every slot the writer inserts matches
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::size_t round = 0;
    while (!stop.load()) {
      const auto k = testing::clustered_matrix(20, kDim, 20, 100 + static_cast<std::uint32_t>(round));
      const auto v = testing::random_matrix(20, 4, 7);
      std::vector<std::string> p(20, inserted);
      const auto ids = mem_->insert(MatrixView(k, kDim), MatrixView(v, 4), p);
      mem_->erase(std::vector<SlotId>(ids.begin(), ids.begin() + 10));
      ++round;
    }
  });
  for (int round = 0; round < 30; ++round) {
    SearchOptions o = filtered(bucket_below(20));
    o.with_payloads = true;
    const SearchResult r = mem_->search(MatrixView(queries_, kDim), o);
    // Judged by the payload each slot was inserted with: a slot erased while the search ran (its
    // erase committed to the store, not yet applied to the index) is still a result, and its
    // payload then reads empty — as for a search without a filter (memory_core.h).
    for (std::size_t e = 0; e < r.ids.size(); ++e) {
      const SlotId id = r.ids[e];
      if (id == kNoSlot) continue;
      EXPECT_TRUE(f.matches(id, id < kN ? payloads_[id] : inserted)) << id;
      if (!r.payloads[e].empty()) EXPECT_TRUE(f.matches(id, r.payloads[e])) << id << " " << r.payloads[e];
    }
  }
  stop = true;
  writer.join();
}

// Payloads written before filters existed (any bytes) read back unchanged; those that are JSON
// objects can be filtered on at once.
TEST(StructuredPayloadTest, PayloadsWrittenBeforeFiltersOpenUnchanged) {
  TempDir dir;
  const std::vector<std::string> payloads = {"plain text", R"({"source": "wiki"})", "", std::string("\xff\x00z", 3),
                                             R"({"source": "news"})"};
  {
    auto db = Database::open(dir.path());
    auto mem = db->create_memory("m", testing::make_config(4, 2));
    const auto keys = testing::random_matrix(payloads.size(), 4, 1), values = testing::random_matrix(payloads.size(), 2, 2);
    mem->insert(MatrixView(keys, 4), MatrixView(values, 2), payloads);
  }
  auto db = Database::open(dir.path());
  auto mem = db->memory("m");
  const auto slots = testing::all_slots(*mem);
  ASSERT_EQ(slots.size(), payloads.size());
  for (std::size_t i = 0; i < slots.size(); ++i) EXPECT_EQ(slots[i].payload, payloads[i]);
  SearchOptions o;
  o.k = 5;
  o.with_payloads = true;
  o.filter = Filter::parse(R"({"must": [{"key": "source", "exists": true}]})");
  const auto q = testing::random_matrix(1, 4, 3);
  const SearchResult r = mem->search(MatrixView(q, 4), o);
  std::set<SlotId> found(r.ids.begin(), r.ids.end());
  EXPECT_EQ(found, (std::set<SlotId>{1, 4, kNoSlot}));
  o.filter = Filter::parse(R"({"must_not": [{"key": "source", "exists": true}]})");
  const SearchResult rest = mem->search(MatrixView(q, 4), o);
  found = std::set<SlotId>(rest.ids.begin(), rest.ids.end());
  EXPECT_EQ(found, (std::set<SlotId>{0, 2, 3, kNoSlot}));
}

// The exact scan gathers the accepted keys a few MiB at a time and folds each part's top-k into
// the running one (api/src/memory_filter.cc): at 600-d a part holds 873 keys, so 2,700 accepted
// slots take four parts. The results equal a brute force over the accepted slots, for a batch
// (the tiled kernel) and for single queries (key by key).
TEST(ExactScanInPartsTest, ResultsEqualBruteForceAcrossParts) {
  constexpr int kWide = 600;
  constexpr std::size_t kSlots = 3000;
  TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = db->create_memory("m", testing::make_config(kWide, 2));
  const auto keys = testing::random_matrix(kSlots, kWide, 5), values = testing::random_matrix(kSlots, 2, 6);
  std::vector<std::string> payloads;
  for (std::size_t i = 0; i < kSlots; ++i) payloads.push_back(R"({"bucket": )" + std::to_string(i % 10) + "}");
  const auto ids = mem->insert(MatrixView(keys, kWide), MatrixView(values, 2), payloads);
  SearchOptions o;
  o.k = 25;
  o.filter = Filter::parse(R"({"must": [{"key": "bucket", "range": {"lt": 9}}]})");
  for (std::size_t nq : {6, 1}) {
    const auto queries = testing::random_matrix(nq, kWide, 7 + static_cast<std::uint32_t>(nq));
    const SearchResult r = mem->search(MatrixView(queries, kWide), o);
    for (std::size_t q = 0; q < nq; ++q) {
      std::vector<std::pair<float, SlotId>> truth;
      for (std::size_t i = 0; i < kSlots; ++i) {
        if (i % 10 == 9) continue;
        float dot = 0;
        for (int c = 0; c < kWide; ++c) dot += queries[q * kWide + c] * keys[i * kWide + c];
        truth.emplace_back(dot, ids[i]);
      }
      std::sort(truth.begin(), truth.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      for (int j = 0; j < o.k; ++j) {
        const std::size_t at = q * static_cast<std::size_t>(o.k) + static_cast<std::size_t>(j);
        EXPECT_EQ(r.ids[at], truth[static_cast<std::size_t>(j)].second) << "batch of " << nq << ", query " << q << ", rank " << j;
        EXPECT_NEAR(r.scores[at], truth[static_cast<std::size_t>(j)].first, 1e-3) << "rank " << j;
      }
    }
  }
}

}  // namespace
}  // namespace engram
