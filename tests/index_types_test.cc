// Every index type supports every operation; approximate ones are checked for recall against
// the exact one; erased slots never come back, whether the index removes in place or keeps
// tombstones (HNSW).
#include <gtest/gtest.h>

#include <omp.h>

#include <algorithm>
#include <set>

#include "index/vector_index.h"
#include "tests/test_util.h"

namespace engram {
namespace {

using testing::clustered_matrix;
using testing::make_config;
using testing::TempDir;

constexpr int kDim = 16;
constexpr std::size_t kN = 2000;

struct IndexCase {
  const char* factory;
  double min_recall;  // recall@10 against the exact top-10
  const char* search_params = "";
};

class IndexTypesTest : public ::testing::TestWithParam<IndexCase> {
 protected:
  void SetUp() override {
    db_ = Database::open(dir_.path());
    auto cfg = make_config(kDim, kDim, GetParam().factory, Metric::kL2);
    cfg.search_params = GetParam().search_params;
    mem_ = db_->create_memory("m", cfg);
    exact_ = db_->create_memory("exact", make_config(kDim, kDim, "Flat", Metric::kL2));
    keys_ = clustered_matrix(kN, kDim, 20, 1);
    values_ = clustered_matrix(kN, kDim, 20, 2);
    std::vector<std::string> payloads;
    for (std::size_t i = 0; i < kN; ++i) payloads.push_back("p" + std::to_string(i));
    ids_ = mem_->insert(MatrixView(keys_, kDim), MatrixView(values_, kDim), payloads);
    exact_->insert(MatrixView(keys_, kDim), MatrixView(values_, kDim), payloads);
    if (!mem_->stats().trained) mem_->train();
    queries_ = clustered_matrix(100, kDim, 20, 3);
  }
  // Closes everything and opens the database again (the exact twin is not reopened).
  void reopen() {
    mem_.reset();
    exact_.reset();
    db_.reset();
    db_ = Database::open(dir_.path());
    mem_ = db_->memory("m");
  }
  TempDir dir_;
  std::unique_ptr<Database> db_;
  std::shared_ptr<Memory> mem_, exact_;
  std::vector<float> keys_, values_, queries_;
  std::vector<SlotId> ids_;
};

TEST_P(IndexTypesTest, IndexesEverySlotAndMeetsRecall) {
  auto st = mem_->stats();
  EXPECT_TRUE(st.trained);
  EXPECT_EQ(st.slots, kN);
  EXPECT_EQ(st.indexed, kN);
  auto got = mem_->search(MatrixView(queries_, kDim), {.k = 10});
  auto want = exact_->search(MatrixView(queries_, kDim), {.k = 10});
  std::size_t hits = 0;
  for (std::size_t q = 0; q < 100; ++q) {
    std::set<SlotId> truth(want.ids.begin() + q * 10, want.ids.begin() + (q + 1) * 10);
    for (int j = 0; j < 10; ++j) hits += truth.count(got.ids[q * 10 + j]);
  }
  EXPECT_GE(hits / 1000.0, GetParam().min_recall);
}

TEST_P(IndexTypesTest, EveryOperationWorks) {
  const MatrixView q(queries_.data(), 4, kDim);
  auto r = mem_->read(q, {.k = 8});
  for (int i = 0; i < 4; ++i) {
    float total = 0;
    for (int j = 0; j < 8; ++j) total += r.weights[i * 8 + j];
    EXPECT_NEAR(total, 1.0f, 1e-5);
  }
  auto rt = mem_->retrieve(q, 8, /*with_payloads=*/true);
  for (std::size_t e = 0; e < rt.ids.size(); ++e) {
    ASSERT_LT(rt.ids[e], kN);
    EXPECT_EQ(rt.payloads[e], "p" + std::to_string(rt.ids[e]));
    EXPECT_EQ(rt.keys[e * kDim], keys_[rt.ids[e] * kDim]);  // keys come back exactly, even with PQ
  }
  auto s = mem_->search(q, {.k = 8, .with_payloads = true});
  EXPECT_EQ(s.payloads[0], "p" + std::to_string(s.ids[0]));

  std::vector<float> w(4 * kDim, 0.5f);
  auto wr = mem_->write(q, MatrixView(w, kDim), 4);
  auto touched = mem_->get_one(wr.ids[0]);
  EXPECT_NE(touched.value, std::vector<float>(values_.begin() + wr.ids[0] * kDim, values_.begin() + (wr.ids[0] + 1) * kDim));

  // update: a new key moves the slot in the index; a new payload replaces the old one.
  std::vector<float> far(kDim, 5.0f);
  mem_->update({SlotPatch{ids_[7], far, std::nullopt, std::string("moved")}});
  auto found = mem_->search(MatrixView(far, kDim), {.k = 1, .with_payloads = true});
  EXPECT_EQ(found.ids[0], ids_[7]);
  EXPECT_EQ(found.payloads[0], "moved");
  EXPECT_EQ(mem_->stats().indexed, kN);
}

TEST_P(IndexTypesTest, ErasedSlotsNeverComeBackEvenAfterCompactionAndReopen) {
  std::vector<SlotId> erased(ids_.begin(), ids_.begin() + 300);
  mem_->erase(erased);
  const std::set<SlotId> gone(erased.begin(), erased.end());
  std::size_t live = kN - 300;
  auto check = [&](const char* when) {
    // Query with the erased keys themselves: the most likely way for them to resurface.
    auto s = mem_->search(MatrixView(keys_.data(), 300, kDim), {.k = 20});
    for (SlotId id : s.ids) ASSERT_TRUE(id == kNoSlot || !gone.count(id)) << when << ": slot " << id;
    auto r = mem_->read(MatrixView(keys_.data(), 300, kDim), {.k = 20});
    for (SlotId id : r.ids) ASSERT_TRUE(id == kNoSlot || !gone.count(id)) << when;
    EXPECT_EQ(mem_->stats().indexed, live) << when;
  };
  // The slots that remain still answer to their own ids: removal must not shift ids around.
  auto self_check = [&](const char* when) {
    auto s = mem_->search(MatrixView(keys_.data() + 300 * kDim, 200, kDim), {.k = 10});
    std::size_t found_self = 0;
    for (std::size_t q = 0; q < 200; ++q) {
      for (int j = 0; j < 10; ++j) found_self += s.ids[q * 10 + j] == ids_[300 + q];
    }
    EXPECT_GE(found_self, 180u) << when;
  };
  check("after erase");
  self_check("after erase");
  EXPECT_THROW(mem_->get_one(erased[0]), Error);
  mem_->compact();
  EXPECT_EQ(mem_->stats().tombstones, 0u);
  check("after compaction");
  self_check("after compaction");
  mem_->erase({ids_[500]});
  --live;
  reopen();
  check("after reopen");
  self_check("after reopen");
  EXPECT_EQ(mem_->stats().slots, kN - 301);
}

// retrieve() returns every result's key bit for bit, whether it comes from the index (float
// storage: Flat, HNSW) or from the store (compressed or IVF indexes), through updates that move
// keys, erasures that shift index positions, compaction and reopen.
TEST_P(IndexTypesTest, RetrievedKeysAreExactlyTheStoredKeysAfterUpdatesErasesAndReopen) {
  std::vector<float> key_of(keys_);  // by slot id (ids_ are 0..kN-1 in order)
  ASSERT_EQ(ids_.back(), kN - 1);
  auto check = [&](const char* when) {
    const MatrixView q(queries_.data(), 50, kDim);
    const auto rt = mem_->retrieve(q, 10);
    for (std::size_t e = 0; e < rt.ids.size(); ++e) {
      ASSERT_LT(rt.ids[e], kN) << when;
      for (int d = 0; d < kDim; ++d)
        ASSERT_EQ(rt.keys[e * kDim + d], key_of[rt.ids[e] * kDim + d]) << when << ": slot " << rt.ids[e];
    }
  };
  check("after insert");
  // Move 20 slots onto the queries themselves, so they are among the results.
  std::vector<SlotPatch> moves;
  for (int i = 0; i < 20; ++i) {
    const SlotId id = ids_[100 + i];
    std::vector<float> k(queries_.begin() + i * kDim, queries_.begin() + (i + 1) * kDim);
    k[0] += 0.001f;
    std::copy(k.begin(), k.end(), key_of.begin() + id * kDim);
    moves.push_back(SlotPatch{id, k, std::nullopt, std::nullopt});
  }
  mem_->update(moves);
  check("after update");
  mem_->erase(std::vector<SlotId>(ids_.begin(), ids_.begin() + 50));  // shifts Flat positions
  check("after erase");
  mem_->compact();
  check("after compaction");
  reopen();
  check("after reopen");
}

INSTANTIATE_TEST_SUITE_P(Factories, IndexTypesTest,
                         ::testing::Values(IndexCase{"Flat", 1.0}, IndexCase{"HNSW32", 0.85}, IndexCase{"HNSW32", 0.97, "efSearch=256"},
                                           IndexCase{"HNSWlib32", 0.85},
                                           IndexCase{"HNSWlib32", 0.97, "efSearch=256"},
                                           IndexCase{"IVF16,Flat", 0.9},
                                           IndexCase{"IVF16,PQ8", 0.4}, IndexCase{"PQ8", 0.4}),
                         [](const auto& info) {
                           std::string n = std::string(info.param.factory) + info.param.search_params;
                           for (auto& c : n) if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(TrainedIndexTest, SearchBeforeTrainingIsAClearErrorAndInsertsWaitInTheStore) {
  TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = db->create_memory("ivf", make_config(kDim, kDim, "IVF16,Flat"));
  auto keys = clustered_matrix(100, kDim, 10, 4);
  mem->insert(MatrixView(keys, kDim), MatrixView(keys, kDim));
  EXPECT_FALSE(mem->stats().trained);
  try {
    mem->search(MatrixView(keys.data(), 1, kDim), {.k = 5});
    FAIL() << "search on an untrained index must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("not trained"), std::string::npos) << e.what();
  }
  mem->train();  // 100 points >= 16 centroids: an explicit train is allowed
  EXPECT_TRUE(mem->stats().trained);
  EXPECT_EQ(mem->stats().indexed, 100u);
  EXPECT_EQ(mem->search(MatrixView(keys.data(), 1, kDim), {.k = 1}).ids[0], 0u);
}

TEST(TrainedIndexTest, TrainsItselfOnceEnoughSlotsExist) {
  TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = db->create_memory("ivf", make_config(kDim, kDim, "IVF8,Flat"));  // trains at 39 × 8
  auto keys = clustered_matrix(400, kDim, 10, 5);
  mem->insert(MatrixView(keys.data(), 300, kDim), MatrixView(keys.data(), 300, kDim));
  EXPECT_FALSE(mem->stats().trained);
  mem->insert(MatrixView(keys.data() + 300 * kDim, 100, kDim), MatrixView(keys.data() + 300 * kDim, 100, kDim));
  EXPECT_TRUE(mem->stats().trained);
  EXPECT_EQ(mem->stats().indexed, 400u);
}

TEST(TrainedIndexTest, TrainWithTooFewSlotsFailsAndChangesNothing) {
  TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = db->create_memory("ivf", make_config(kDim, kDim, "IVF16,Flat"));
  auto keys = clustered_matrix(5, kDim, 2, 6);
  mem->insert(MatrixView(keys, kDim), MatrixView(keys, kDim));
  EXPECT_THROW(mem->train(), Error);
  EXPECT_FALSE(mem->stats().trained);
  EXPECT_EQ(mem->count(), 5u);
}

}  // namespace
}  // namespace engram

namespace engram {
namespace {

class EmptyMemoryTest : public ::testing::TestWithParam<const char*> {};

TEST_P(EmptyMemoryTest, EveryReadOfAnEmptyMemoryReturnsNoSlots) {
  testing::TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = db->create_memory("m", testing::make_config(kDim, kDim, GetParam()));
  auto q = testing::random_matrix(512, kDim, 1);
  if (!mem->stats().trained) {  // an IVF trained, then emptied
    auto ids = mem->insert(MatrixView(q, kDim), MatrixView(q, kDim));
    mem->train();
    mem->erase(ids);
  }
  for (int round = 0; round < 2; ++round) {  // empty from the start, then emptied by erase
    auto r = mem->read(MatrixView(q, kDim), {.k = 32});
    auto rt = mem->retrieve(MatrixView(q, kDim), 32);
    auto s = mem->search(MatrixView(q, kDim), {.k = 32});
    for (SlotId id : r.ids) ASSERT_EQ(id, kNoSlot);
    for (SlotId id : rt.ids) ASSERT_EQ(id, kNoSlot);
    for (SlotId id : s.ids) ASSERT_EQ(id, kNoSlot);
    for (float x : r.reads) ASSERT_EQ(x, 0.0f);
    auto w = mem->write(MatrixView(q, kDim), MatrixView(q, kDim), 8);
    for (SlotId id : w.ids) ASSERT_EQ(id, kNoSlot);
    auto ids = mem->insert(MatrixView(q.data(), 3, kDim), MatrixView(q.data(), 3, kDim));
    mem->erase(ids);
  }
}

INSTANTIATE_TEST_SUITE_P(Types, EmptyMemoryTest, ::testing::Values("Flat", "HNSW32", "HNSWlib32", "IVF4,Flat"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n) if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// efConstruction reaches both graph builders: the same points, linked with 4 candidates or with
// 200, searched with the same small efSearch — the better-built graph finds more of the true
// neighbours. (One OpenMP thread: FAISS's parallel insertion would make the graphs vary.)
class EfConstructionTest : public ::testing::TestWithParam<const char*> {};

double recall_with_ef_construction(const char* factory, int ef_construction, const std::vector<float>& keys,
                                   const std::vector<float>& queries, std::size_t n, std::size_t nq) {
  index::IndexSpec spec;
  spec.dim = kDim;
  spec.metric = Metric::kL2;
  spec.factory = factory;
  spec.search_params = "efSearch=10";
  spec.ef_construction = ef_construction;
  auto index = index::VectorIndex::create(spec);
  std::vector<std::uint64_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = i;
  index->add(n, keys.data(), ids.data());
  const int k = 10;
  std::vector<float> scores(nq * k);
  std::vector<std::uint64_t> got(nq * k);
  index->search(nq, queries.data(), k, scores.data(), got.data(), {});
  std::size_t hits = 0;
  for (std::size_t q = 0; q < nq; ++q) {
    std::vector<std::pair<float, std::uint64_t>> d(n);
    for (std::size_t i = 0; i < n; ++i) {
      float s = 0;
      for (int c = 0; c < kDim; ++c) {
        const float diff = queries[q * kDim + c] - keys[i * kDim + c];
        s += diff * diff;
      }
      d[i] = {s, i};
    }
    std::partial_sort(d.begin(), d.begin() + k, d.end());
    std::set<std::uint64_t> truth;
    for (int j = 0; j < k; ++j) truth.insert(d[j].second);
    for (int j = 0; j < k; ++j) hits += truth.count(got[q * k + j]);
  }
  return static_cast<double>(hits) / static_cast<double>(nq * k);
}

TEST_P(EfConstructionTest, AHigherEfConstructionBuildsAGraphWithBetterRecall) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const std::size_t n = 6000, nq = 200;
  const auto keys = testing::random_matrix(n, kDim, 7);
  const auto queries = testing::random_matrix(nq, kDim, 8);
  const double poor = recall_with_ef_construction(GetParam(), 4, keys, queries, n, nq);
  const double good = recall_with_ef_construction(GetParam(), 200, keys, queries, n, nq);
  omp_set_num_threads(threads);
  EXPECT_GT(good, poor + 0.1) << "efConstruction 4: " << poor << ", 200: " << good;
}

INSTANTIATE_TEST_SUITE_P(Graphs, EfConstructionTest, ::testing::Values("HNSW4", "HNSWlib4"));

// recall@10 of `index` (ids 0..n-1 over `keys`) against the exact L2 top-10, and how many
// points are their own nearest neighbour.
struct GraphQuality {
  double recall10 = 0, self_found = 0;
};
GraphQuality graph_quality(const index::VectorIndex& index, const std::vector<float>& keys,
                           const std::vector<float>& queries, std::size_t n, std::size_t nq) {
  GraphQuality q;
  const int k = 10;
  std::vector<float> scores(nq * k);
  std::vector<std::uint64_t> got(nq * k);
  index.search(nq, queries.data(), k, scores.data(), got.data(), {});
  std::size_t hits = 0;
  for (std::size_t i = 0; i < nq; ++i) {
    std::vector<std::pair<float, std::uint64_t>> d(n);
    for (std::size_t j = 0; j < n; ++j) {
      float s = 0;
      for (int c = 0; c < kDim; ++c) s += (queries[i * kDim + c] - keys[j * kDim + c]) * (queries[i * kDim + c] - keys[j * kDim + c]);
      d[j] = {s, j};
    }
    std::partial_sort(d.begin(), d.begin() + k, d.end());
    std::set<std::uint64_t> truth;
    for (int j = 0; j < k; ++j) truth.insert(d[j].second);
    for (int j = 0; j < k; ++j) hits += truth.count(got[i * k + j]);
  }
  q.recall10 = static_cast<double>(hits) / static_cast<double>(nq * k);
  std::vector<float> s1(n);
  std::vector<std::uint64_t> self(n);
  index.search(n, keys.data(), 1, s1.data(), self.data(), {});
  std::size_t found = 0;
  for (std::size_t i = 0; i < n; ++i) found += self[i] == i;
  q.self_found = static_cast<double>(found) / static_cast<double>(n);
  return q;
}

// A batch of new points goes into an HNSWlib graph on several threads (hnswlib's per-node locks);
// the graph must be as good as the one a single thread builds, with every point in it. The TSAN
// step runs this test with its threads.
TEST(HnswlibInsertion, ABatchInsertedOnSeveralThreadsBuildsAGraphAsGoodAsOneThread) {
  const int threads = omp_get_max_threads();
  const std::size_t n = 6000, nq = 200;
  const auto keys = testing::random_matrix(n, kDim, 21);
  const auto queries = testing::random_matrix(nq, kDim, 22);
  std::vector<std::uint64_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = i;
  index::IndexSpec spec;
  spec.dim = kDim;
  spec.metric = Metric::kL2;
  spec.factory = "HNSWlib16";
  spec.search_params = "efSearch=32";
  spec.ef_construction = 64;
  GraphQuality quality[2];
  for (int t : {1, 4}) {
    omp_set_num_threads(t);
    auto index = index::VectorIndex::create(spec);
    index->add(n, keys.data(), ids.data());
    omp_set_num_threads(1);  // the searches below on one thread (the TSAN build cannot see libgomp's)
    ASSERT_EQ(index->size(), n);
    quality[t > 1] = graph_quality(*index, keys, queries, n, nq);
  }
  // One thread builds the same graph every time (the bytes of two builds are equal).
  omp_set_num_threads(1);
  std::vector<std::uint8_t> bytes[2];
  for (auto& b : bytes) {
    auto index = index::VectorIndex::create(spec);
    index->add(n, keys.data(), ids.data());
    b = index->serialize();
  }
  EXPECT_TRUE(bytes[0] == bytes[1]) << "two one-thread builds of the same points differ";
  omp_set_num_threads(threads);
  EXPECT_GE(quality[1].self_found, 0.99);
  EXPECT_GE(quality[1].recall10, 0.85);
  EXPECT_GE(quality[1].recall10, quality[0].recall10 - 0.03)
      << "one thread " << quality[0].recall10 << ", four " << quality[1].recall10;
}

}  // namespace
}  // namespace engram
