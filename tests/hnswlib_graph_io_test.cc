// An HNSWlib graph goes to and from checkpoint bytes in hnswlib 0.6.2's own file format, without
// a file: a graph hnswlib saved loads (and writes back byte for byte), a loaded graph searches
// and grows, and bytes that do not describe a graph are refused as corruption.
#include <gtest/gtest.h>
#include <hnswlib/hnswlib.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "engram/error.h"
#include "index/vector_index.h"
#include "tests/test_util.h"

namespace engram::index {
namespace {

constexpr int kDim = 16;
constexpr std::size_t kN = 800;

IndexSpec spec_of(const char* factory) {
  IndexSpec spec;
  spec.dim = kDim;
  spec.metric = Metric::kL2;
  spec.factory = factory;
  return spec;
}

// The bytes hnswlib itself writes for a graph of kN points labelled 1000 + i.
std::vector<std::uint8_t> saved_by_hnswlib(const std::vector<float>& keys, const std::string& path) {
  hnswlib::L2Space space(kDim);
  hnswlib::HierarchicalNSW<float> graph(&space, kN, 8, 50);
  for (std::size_t i = 0; i < kN; ++i) graph.addPoint(keys.data() + i * kDim, 1000 + i);
  graph.markDelete(1000 + 5);
  graph.saveIndex(path);
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint64_t nearest(const VectorIndex& index, const float* q) {
  float score;
  std::uint64_t id;
  index.search(1, q, 1, &score, &id, {});
  return id;
}

TEST(HnswlibGraphIo, AGraphHnswlibSavedLoadsSearchesAndIsWrittenBackByteForByte) {
  testing::TempDir dir;
  const auto keys = testing::random_matrix(kN, kDim, 5);
  const auto bytes = saved_by_hnswlib(keys, dir.path() + "/graph.bin");
  IndexSpec spec = spec_of("HNSWlib8");
  spec.ef_construction = 50;  // the memory's setting replaces the file's
  auto index = VectorIndex::deserialize(spec, bytes.data(), bytes.size());
  EXPECT_EQ(index->size(), kN - 1);
  EXPECT_EQ(index->tombstones(), 1u);
  std::size_t self = 0;
  for (std::size_t i = 0; i < kN; ++i) self += nearest(*index, keys.data() + i * kDim) == 1000 + i;
  EXPECT_GE(self, kN - 1 - 8);                                  // the deleted one never comes back
  EXPECT_NE(nearest(*index, keys.data() + 5 * kDim), 1005u);
  EXPECT_EQ(index->serialize(), bytes);
}

TEST(HnswlibGraphIo, ALoadedGraphGrowsAndRoundTrips) {
  const auto keys = testing::random_matrix(2 * kN, kDim, 6);
  std::vector<std::uint64_t> ids(2 * kN);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = i;
  auto first = VectorIndex::create(spec_of("HNSWlib8"));
  first->add(kN, keys.data(), ids.data());
  const auto bytes = first->serialize();
  auto loaded = VectorIndex::deserialize(spec_of("HNSWlib8"), bytes.data(), bytes.size());
  EXPECT_EQ(loaded->serialize(), bytes);
  loaded->add(kN, keys.data() + kN * kDim, ids.data() + kN);  // beyond the loaded capacity
  EXPECT_EQ(loaded->size(), 2 * kN);
  std::size_t self = 0;
  for (std::size_t i = 0; i < 2 * kN; ++i) self += nearest(*loaded, keys.data() + i * kDim) == i;
  EXPECT_GE(self, 2 * kN - 16);
  auto empty = VectorIndex::create(spec_of("HNSWlib8"));
  const auto none = empty->serialize();
  EXPECT_EQ(VectorIndex::deserialize(spec_of("HNSWlib8"), none.data(), none.size())->size(), 0u);
}

void expect_corruption(const std::vector<std::uint8_t>& bytes, const char* what) {
  try {
    VectorIndex::deserialize(spec_of("HNSWlib8"), bytes.data(), bytes.size());
    ADD_FAILURE() << what << ": loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorruption) << what << ": " << e.what();
  }
}

TEST(HnswlibGraphIo, BytesThatAreNotAGraphAreCorruption) {
  const auto keys = testing::random_matrix(kN, kDim, 7);
  std::vector<std::uint64_t> ids(kN);
  for (std::size_t i = 0; i < kN; ++i) ids[i] = i;
  auto index = VectorIndex::create(spec_of("HNSWlib8"));
  index->add(kN, keys.data(), ids.data());
  const auto good = index->serialize();

  expect_corruption(std::vector<std::uint8_t>(good.begin(), good.begin() + 40), "truncated header");
  expect_corruption(std::vector<std::uint8_t>(good.begin(), good.end() - 3), "truncated links");
  auto longer = good;
  longer.push_back(0);
  expect_corruption(longer, "trailing byte");
  // The first node's first level-0 link (after the header and its u32 count) points far away.
  const std::size_t header = 8 * 6 + 4 + 4 + 8 * 3 + 8 + 8;
  auto outside = good;
  const std::uint32_t far = 1u << 30;
  std::memcpy(outside.data() + header + 4, &far, 4);
  expect_corruption(outside, "link outside the graph");
  // A graph of another dimension.
  IndexSpec narrower = spec_of("HNSWlib8");
  narrower.dim = kDim / 2;
  try {
    VectorIndex::deserialize(narrower, good.data(), good.size());
    ADD_FAILURE() << "a 16-d graph loaded as 8-d";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorruption) << e.what();
  }
}

}  // namespace
}  // namespace engram::index
