// Keys read back from an index (VectorIndex::reconstruct), which an exact scan of a filter's
// slots and a retrieve use instead of the store: bit for bit where the index holds them exactly
// (Flat, HNSW graphs, IVF…,Flat), through removals (an IVF moves its last entry into the hole)
// and checkpoints, including an IVF checkpoint written before IVF indexes kept a direct map; and
// refused where the codes are lossy. Also the width of a filtered graph walk.
#include <gtest/gtest.h>

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include <cstring>
#include <set>

#include "index/filtered_graph_search.h"
#include "index/vector_index.h"
#include "tests/test_util.h"

namespace engram::index {
namespace {

constexpr int kDim = 16;
constexpr std::size_t kN = 2000;

IndexSpec spec_of(const std::string& factory) {
  IndexSpec spec;
  spec.dim = kDim;
  spec.metric = Metric::kL2;
  spec.factory = factory;
  return spec;
}

std::vector<std::uint64_t> slot_ids() {  // not positions: sparse and large
  std::vector<std::uint64_t> ids(kN);
  for (std::size_t i = 0; i < kN; ++i) ids[i] = 1000003 * i + 7;
  return ids;
}

// Every id of `ids` reads back as its row of `keys` bit for bit, except those in `gone`.
void expect_keys(const VectorIndex& index, const std::vector<float>& keys, const std::vector<std::uint64_t>& ids,
                 const std::set<std::uint64_t>& gone, const std::string& what) {
  std::vector<float> out(ids.size() * kDim, -1.0f);
  std::vector<bool> found;
  ASSERT_TRUE(index.reconstruct(ids.size(), ids.data(), out.data(), &found)) << what;
  ASSERT_EQ(found.size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(found[i], gone.count(ids[i]) == 0) << what << ": id " << ids[i];
    if (found[i] && gone.count(ids[i]) == 0)
      EXPECT_EQ(std::memcmp(out.data() + i * kDim, keys.data() + i * kDim, kDim * sizeof(float)), 0)
          << what << ": id " << ids[i];
  }
}

class IndexKeysTest : public ::testing::TestWithParam<const char*> {};

TEST_P(IndexKeysTest, KeysComeBackExactlyThroughRemovalsAndCheckpoints) {
  const auto keys = testing::clustered_matrix(kN, kDim, 16, 1);
  const auto ids = slot_ids();
  auto index = VectorIndex::create(spec_of(GetParam()));
  if (!index->is_trained()) index->train(kN, keys.data());
  index->add(kN, keys.data(), ids.data());
  expect_keys(*index, keys, ids, {}, "after add");

  // Every third id goes, the first and the last among them: an IVF list refills each hole
  // with its last entry, whose place in the direct map must follow.
  std::vector<std::uint64_t> removed;
  for (std::size_t i = 0; i < kN; i += 3) removed.push_back(ids[i]);
  removed.push_back(ids[kN - 1]);
  index->remove(removed);
  const std::set<std::uint64_t> gone(removed.begin(), removed.end());
  EXPECT_EQ(index->size(), kN - gone.size());
  expect_keys(*index, keys, ids, gone, "after remove");

  const auto bytes = index->serialize();
  auto loaded = VectorIndex::deserialize(spec_of(GetParam()), bytes.data(), bytes.size());
  expect_keys(*loaded, keys, ids, gone, "after a checkpoint");
  std::vector<float> one(kDim);
  std::vector<bool> found;
  const std::uint64_t unknown = 5;
  ASSERT_TRUE(loaded->reconstruct(1, &unknown, one.data(), &found));
  EXPECT_FALSE(found[0]);
}

INSTANTIATE_TEST_SUITE_P(Exact, IndexKeysTest, ::testing::Values("Flat", "HNSW16", "HNSWlib16", "IVF16,Flat"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

TEST(IndexKeys, LossyCodesAreNotReadBack) {
  const auto keys = testing::clustered_matrix(kN, kDim, 16, 2);
  const auto ids = slot_ids();
  for (const char* factory : {"IVF16,PQ4", "SQ8", "IVF16,SQ8"}) {
    auto index = VectorIndex::create(spec_of(factory));
    index->train(kN, keys.data());
    index->add(kN, keys.data(), ids.data());
    std::vector<float> out(kDim);
    std::vector<bool> found;
    EXPECT_FALSE(index->reconstruct(1, ids.data(), out.data(), &found)) << factory;
  }
}

// An IVF checkpoint written before IVF indexes kept a direct map (FAISS bytes with none, in
// Engram's layout: u64 length | FAISS index | u64 tombstone count 0) gets one when it loads.
TEST(IndexKeys, AnIvfCheckpointWithoutADirectMapGetsOneWhenItLoads) {
  const auto keys = testing::clustered_matrix(kN, kDim, 16, 3);
  const auto ids = slot_ids();
  faiss::IndexFlatL2 quantizer(kDim);
  faiss::IndexIVFFlat old(&quantizer, kDim, 16);
  old.train(kN, keys.data());
  old.add_with_ids(kN, keys.data(), reinterpret_cast<const faiss::Index::idx_t*>(ids.data()));
  ASSERT_EQ(old.direct_map.type, faiss::DirectMap::NoMap);
  faiss::VectorIOWriter writer;
  faiss::write_index(&old, &writer);
  std::vector<std::uint8_t> bytes(8);
  const std::uint64_t length = writer.data.size(), no_tombstones = 0;
  std::memcpy(bytes.data(), &length, 8);
  bytes.insert(bytes.end(), writer.data.begin(), writer.data.end());
  bytes.resize(bytes.size() + 8);
  std::memcpy(bytes.data() + bytes.size() - 8, &no_tombstones, 8);

  auto loaded = VectorIndex::deserialize(spec_of("IVF16,Flat"), bytes.data(), bytes.size());
  EXPECT_EQ(loaded->size(), kN);
  expect_keys(*loaded, keys, ids, {}, "loaded");
  loaded->remove({ids[0], ids[1]});
  expect_keys(*loaded, keys, ids, {ids[0], ids[1]}, "loaded, then removed");
}

TEST(FilteredWalkWidth, SearchesTheBallOfAnUnfilteredSearchAndNeverHoldsFewerThanK) {
  EXPECT_EQ(filtered_walk_width(64, 10, 1.0), 64u);   // no filter in effect: ef itself
  EXPECT_EQ(filtered_walk_width(64, 10, 0.5), 32u);   // half accepted: ef × share
  EXPECT_EQ(filtered_walk_width(64, 10, 0.26), 17u);  // rounded up
  EXPECT_EQ(filtered_walk_width(64, 10, 0.1), 10u);   // ef × share < k: k
  EXPECT_EQ(filtered_walk_width(64, 10, 0.0), 10u);
  EXPECT_EQ(filtered_walk_width(8, 20, 1.0), 20u);    // as unfiltered: max(ef, k)
  EXPECT_EQ(filtered_walk_width(64, 10, 3.0), 64u);   // a share is at most 1
}

}  // namespace
}  // namespace engram::index
