// Per-call search settings (SearchOptions::ef, ::nprobe): they change what one search finds, and
// nothing else. A larger ef (HNSW) or nprobe (IVF) finds more of the exact top-k; the memory's
// own setting is the same before and after; searches with different settings on many threads at
// once find exactly what the same searches find one after another (this suite also runs under
// ThreadSanitizer: scripts/tsan.sh).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"

namespace engram {
namespace {

using testing::make_config;
using testing::random_matrix;
using testing::TempDir;

constexpr int kDim = 32;
constexpr std::size_t kN = 3000;
constexpr std::size_t kQueries = 100;
constexpr int kK = 10;

// One approximate index type and the per-call knob that tunes it.
struct Tuned {
  const char* name;           // the test's name (HNSWlib cases are left out of the TSAN run)
  const char* factory;
  const char* search_params;  // the memory's own setting: a low one, so that more is better
  bool ivf;                   // the knob is nprobe (else ef)
  std::vector<int> settings;  // per-call values, lowest first
};

SearchOptions with(const Tuned& t, int setting, SearchOptions o = {}) {
  (t.ivf ? o.nprobe : o.ef) = setting;
  return o;
}

// Fraction of the exact top-k ids that `got` holds (both rows × k).
double recall(const std::vector<SlotId>& got, const std::vector<SlotId>& exact) {
  std::size_t hits = 0;
  for (std::size_t q = 0; q < kQueries; ++q) {
    std::set<SlotId> truth(exact.begin() + q * kK, exact.begin() + (q + 1) * kK);
    for (int j = 0; j < kK; ++j) hits += truth.count(got[q * kK + j]);
  }
  return static_cast<double>(hits) / static_cast<double>(kQueries * kK);
}

class SearchOptionsTest : public ::testing::TestWithParam<Tuned> {
 protected:
  void SetUp() override {
    db_ = Database::open(dir_.path());
    auto cfg = make_config(kDim, 4, GetParam().factory, Metric::kL2);
    cfg.search_params = GetParam().search_params;
    if (!GetParam().ivf) cfg.ef_construction = 32;  // a graph that needs a wide search to do well
    mem_ = db_->create_memory("m", cfg);
    auto exact = db_->create_memory("exact", make_config(kDim, 4, "Flat", Metric::kL2));
    const auto keys = random_matrix(kN, kDim, 1);
    const auto values = random_matrix(kN, 4, 2);
    mem_->insert(MatrixView(keys, kDim), MatrixView(values, 4));
    exact->insert(MatrixView(keys, kDim), MatrixView(values, 4));
    if (!mem_->stats().trained) mem_->train();
    queries_ = random_matrix(kQueries, kDim, 3);
    exact_ids_ = exact->search(q(), {.k = kK}).ids;
  }
  MatrixView q() const { return MatrixView(queries_, kDim); }

  TempDir dir_;
  std::unique_ptr<Database> db_;
  std::shared_ptr<Memory> mem_;
  std::vector<float> queries_;
  std::vector<SlotId> exact_ids_;
};

TEST_P(SearchOptionsTest, AWiderSearchFindsMoreAndTheMemorysSettingStays) {
  const Tuned& t = GetParam();
  const SearchResult before = mem_->search(q(), {.k = kK});
  const double lowest = recall(mem_->search(q(), with(t, t.settings.front(), {.k = kK})).ids, exact_ids_);
  const double highest = recall(mem_->search(q(), with(t, t.settings.back(), {.k = kK})).ids, exact_ids_);
  const double by_default = recall(before.ids, exact_ids_);
  EXPECT_GT(highest, lowest + 0.1) << t.factory << ": recall@10 " << lowest << " at "
                                   << t.settings.front() << ", " << highest << " at " << t.settings.back();
  EXPECT_GT(highest, by_default) << "the memory's own (low) setting did as well as the widest search";
  if (std::string(t.factory).rfind("IVF", 0) == 0) EXPECT_EQ(highest, 1.0) << "every list of an IVF-Flat: exact";

  // The calls changed nothing: a search without options finds what it found before, bit for bit.
  const SearchResult after = mem_->search(q(), {.k = kK});
  EXPECT_EQ(after.ids, before.ids);
  EXPECT_EQ(after.scores, before.scores);
  EXPECT_EQ(mem_->config().search_params, t.search_params);

  // read() takes the same settings: its top-k are the search's.
  const ReadResult wide = mem_->read(q(), with(t, t.settings.back(), {.k = kK}));
  EXPECT_EQ(wide.ids, mem_->search(q(), with(t, t.settings.back(), {.k = kK})).ids);

  // Through a reopen too (the setting is the memory's config, not state of the last search).
  mem_.reset();
  db_.reset();
  db_ = Database::open(dir_.path());
  mem_ = db_->memory("m");
  EXPECT_EQ(mem_->search(q(), {.k = kK}).ids, before.ids);
}

TEST_P(SearchOptionsTest, ErasedSlotsStayOutOfAWideSearch) {
  const Tuned& t = GetParam();
  const SearchResult wide = mem_->search(q(), with(t, t.settings.back(), {.k = kK}));
  std::vector<SlotId> gone(wide.ids.begin(), wide.ids.begin() + 5 * kK);  // the first 5 queries' hits
  std::sort(gone.begin(), gone.end());
  gone.erase(std::unique(gone.begin(), gone.end()), gone.end());
  mem_->erase(gone);  // HNSW keeps tombstones: the search filters them with the per-call ef
  const std::set<SlotId> erased(gone.begin(), gone.end());
  for (int setting : t.settings) {
    const SearchResult r = mem_->search(q(), with(t, setting, {.k = kK}));
    for (SlotId id : r.ids) EXPECT_EQ(erased.count(id), 0u) << "erased slot " << id << " at " << setting;
  }
}

// Several threads search at once, each with its own setting, while their settings change from
// call to call; every answer must be the one the same call gives alone. A per-call setting that
// went through the index's shared fields (FAISS's efSearch/nprobe, hnswlib's ef_) would leak into
// the other threads' searches here, and ThreadSanitizer would see the race.
TEST_P(SearchOptionsTest, ConcurrentSearchesWithDifferentSettingsMatchSerialOnes) {
  const Tuned& t = GetParam();
  const std::size_t m = t.settings.size();
  std::vector<SearchResult> serial_search(m);
  std::vector<ReadResult> serial_read(m);
  for (std::size_t i = 0; i < m; ++i) {
    serial_search[i] = mem_->search(q(), with(t, t.settings[i], {.k = kK}));
    serial_read[i] = mem_->read(q(), with(t, t.settings[i], {.k = kK}));
  }
  // The settings must give different answers, or the comparison below would prove nothing.
  ASSERT_NE(serial_search.front().ids, serial_search.back().ids);

  constexpr int kThreads = 4, kRounds = 6;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int round = 0; round < kRounds; ++round) {
        const std::size_t i = static_cast<std::size_t>(th + round) % m;  // threads differ per round
        const SearchResult s = mem_->search(q(), with(t, t.settings[i], {.k = kK}));
        if (s.ids != serial_search[i].ids || s.scores != serial_search[i].scores) ++mismatches[th];
        const ReadResult r = mem_->read(q(), with(t, t.settings[i], {.k = kK}));
        if (r.ids != serial_read[i].ids || r.reads != serial_read[i].reads) ++mismatches[th];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int th = 0; th < kThreads; ++th) EXPECT_EQ(mismatches[th], 0) << "thread " << th;
  EXPECT_EQ(mem_->search(q(), {.k = kK}).ids, mem_->search(q(), {.k = kK}).ids);
}

INSTANTIATE_TEST_SUITE_P(
    Indexes, SearchOptionsTest,
    ::testing::Values(Tuned{"FaissHNSW", "HNSW32", "efSearch=16", false, {1, 16, 64, 256}},
                      Tuned{"HNSWlib", "HNSWlib32", "efSearch=16", false, {1, 16, 64, 256}},
                      Tuned{"IVF", "IVF32,Flat", "nprobe=2", true, {1, 2, 8, 32}},
                      Tuned{"PCA_IVF", "PCA24,IVF32,Flat", "nprobe=2", true, {1, 2, 8, 32}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SearchOptions, OutOfRangeSettingsAreRefusedAndZeroMeansTheMemorysOwn) {
  TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = db->create_memory("m", make_config(8, 2, "HNSW16"));
  const auto keys = random_matrix(200, 8, 1);
  mem->insert(MatrixView(keys, 8), MatrixView(random_matrix(200, 2, 2), 2));
  const MatrixView q(keys.data(), 3, 8);
  for (SearchOptions bad : {SearchOptions{.ef = -1}, SearchOptions{.ef = kMaxEf + 1},
                            SearchOptions{.nprobe = -5}, SearchOptions{.nprobe = kMaxNprobe + 1}}) {
    try {
      mem->search(q, bad);
      ADD_FAILURE() << "search accepted ef " << bad.ef << ", nprobe " << bad.nprobe;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(bad.ef != 0 ? "ef must be in 1.." : "nprobe must be in 1.."),
                std::string::npos)
          << e.what();
    }
    EXPECT_THROW(mem->read(q, bad), Error);
  }
  EXPECT_EQ(mem->search(q, {.k = 5, .ef = 0}).ids, mem->search(q, {.k = 5}).ids);
  // A knob the index does not have is ignored: nprobe on a graph, ef on a Flat.
  EXPECT_EQ(mem->search(q, {.k = 5, .nprobe = 7}).ids, mem->search(q, {.k = 5}).ids);
  auto flat = db->create_memory("flat", make_config(8, 2, "Flat"));
  flat->insert(MatrixView(keys, 8), MatrixView(random_matrix(200, 2, 2), 2));
  EXPECT_EQ(flat->search(q, {.k = 5, .ef = 3, .nprobe = 3}).ids, flat->search(q, {.k = 5}).ids);
}

// An IVF whose coarse quantizer is an HNSW graph takes both: nprobe for the lists, ef for the
// graph search that picks them.
TEST(SearchOptions, AnIvfWithAnHnswQuantizerTakesBoth) {
  TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = db->create_memory("m", make_config(kDim, 2, "IVF16_HNSW8,Flat", Metric::kL2));
  const auto keys = random_matrix(1000, kDim, 1);
  mem->insert(MatrixView(keys, kDim), MatrixView(random_matrix(1000, 2, 2), 2));
  if (!mem->stats().trained) mem->train();
  const MatrixView q(keys.data(), 20, kDim);
  const SearchResult all = mem->search(q, {.k = 5, .ef = 64, .nprobe = 16});
  for (std::size_t i = 0; i < 20; ++i) EXPECT_EQ(all.ids[i * 5], i) << "every list scanned: exact";
  EXPECT_EQ(mem->search(q, {.k = 5, .ef = 1, .nprobe = 16}).ids.size(), all.ids.size());
}

// A per-call ef equal to the memory's own efSearch finds exactly what a search without one finds,
// scores included, for either metric, with tombstones, over compressed storage: FAISS graphs searched with a per-call ef are walked by Engram (FAISS 1.7.3 would cap
// the candidate list at the index's own efSearch), and the walk must be FAISS's search.
TEST(SearchOptions, AnEfEqualToTheMemorysOwnChangesNothing) {
  TempDir dir;
  auto db = Database::open(dir.path());
  int n = 0;
  for (const char* factory : {"HNSW16", "HNSWlib16", "HNSW16_SQ8"}) {
    for (Metric metric : {Metric::kL2, Metric::kInnerProduct}) {
      SCOPED_TRACE(std::string(factory) + (metric == Metric::kL2 ? " l2" : " ip"));
      auto cfg = make_config(kDim, 2, factory, metric);
      cfg.search_params = "efSearch=24";
      auto mem = db->create_memory("m" + std::to_string(n++), cfg);
      const auto keys = random_matrix(1500, kDim, 5);
      const auto ids = mem->insert(MatrixView(keys, kDim), MatrixView(random_matrix(1500, 2, 6), 2));
      if (!mem->stats().trained) mem->train();
      const auto queries = random_matrix(50, kDim, 7);
      const MatrixView q(queries, kDim);
      for (int round = 0; round < 2; ++round) {
        const SearchResult own = mem->search(q, {.k = kK});
        const SearchResult same = mem->search(q, {.k = kK, .ef = 24});
        EXPECT_EQ(same.ids, own.ids) << "round " << round;
        EXPECT_EQ(same.scores, own.scores) << "round " << round;
        EXPECT_NE(mem->search(q, {.k = kK, .ef = 1}).ids, own.ids) << "round " << round;
        if (round == 0) mem->erase({ids.begin(), ids.begin() + 300});  // round 1: with tombstones
      }
    }
  }
}

}  // namespace
}  // namespace engram
