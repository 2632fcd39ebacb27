// Exact k-NN (index/exact_search.h) at every SIMD level this CPU runs agrees with a
// double-precision brute force: on every shape the tiled kernel has a case for (query chunks of
// 4 and the rest, partial blocks and tiles, several tiles, the threaded batch), both metrics,
// and k beyond the keys given.
#include "index/exact_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engram/types.h"

namespace engram::index {
namespace {

struct Case {
  std::size_t nq, m, d;
  int k;
};

std::vector<float> gaussian(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}

double true_score(Metric metric, const float* q, const float* key, std::size_t d) {
  double s = 0;
  for (std::size_t c = 0; c < d; ++c) {
    const double x = q[c], y = key[c];
    s += metric == Metric::kL2 ? -(x - y) * (x - y) : x * y;
  }
  return s;
}

void check_level(SimdLevel level, Metric metric, const Case& c) {
  const auto queries = gaussian(c.nq * c.d, 1), keys = gaussian(c.m * c.d, 2);
  std::vector<std::uint64_t> ids(c.m);
  for (std::size_t i = 0; i < c.m; ++i) ids[i] = 1000 + 7 * i;  // not the row numbers
  const std::size_t ks = static_cast<std::size_t>(c.k);
  std::vector<float> scores(c.nq * ks);
  std::vector<std::uint64_t> out(c.nq * ks);
  exact_knn_at(level, metric, c.d, c.nq, queries.data(), c.m, keys.data(), ids.data(), c.k, scores.data(), out.data());
  const std::string what = "nq " + std::to_string(c.nq) + " m " + std::to_string(c.m) + " d " + std::to_string(c.d) +
                           " k " + std::to_string(c.k) + (metric == Metric::kL2 ? " l2" : " ip");
  for (std::size_t q = 0; q < c.nq; ++q) {
    std::vector<double> truth(c.m);
    for (std::size_t r = 0; r < c.m; ++r) truth[r] = true_score(metric, &queries[q * c.d], &keys[r * c.d], c.d);
    std::vector<double> best = truth;
    std::sort(best.rbegin(), best.rend());
    const double tol = 1e-4 * static_cast<double>(c.d);
    std::vector<std::uint64_t> seen;
    for (std::size_t j = 0; j < ks; ++j) {
      const std::uint64_t id = out[q * ks + j];
      const float s = scores[q * ks + j];
      if (j >= c.m) {  // fewer keys than k: the rest is missing
        EXPECT_EQ(id, kNoSlot) << what;
        EXPECT_EQ(s, -std::numeric_limits<float>::infinity()) << what;
        continue;
      }
      ASSERT_NE(id, kNoSlot) << what << " rank " << j;
      ASSERT_EQ((id - 1000) % 7, 0u) << what;
      const std::size_t row = (id - 1000) / 7;
      ASSERT_LT(row, c.m) << what;
      EXPECT_NEAR(s, truth[row], tol) << what << ": the score given is the key's";
      EXPECT_NEAR(s, best[j], tol) << what << ": rank " << j << " holds the rank-" << j << " score";
      if (j > 0) EXPECT_LE(s, scores[q * ks + j - 1]) << what << ": best first";
      seen.push_back(id);
    }
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end()) << what << ": a key twice";
  }
}

TEST(ExactKnn, EveryLevelAgreesWithBruteForceOnEveryShape) {
  const std::vector<Case> cases = {
      {1, 1, 1, 1},     {1, 15, 3, 10},   {3, 16, 17, 10},  {4, 17, 16, 5},   {5, 129, 128, 10},
      {9, 300, 33, 1},  {2, 7, 8, 20},    {37, 5000, 128, 10}, {64, 2500, 64, 100}, {6, 3000, 300, 3},
  };
  for (const DistanceKernels& level : supported_kernels())
    for (Metric metric : {Metric::kInnerProduct, Metric::kL2})
      for (const Case& c : cases) check_level(level.level, metric, c);
}

// A scan in two parts, merged, gives what one scan of all the keys gives.
TEST(ExactKnn, MergingTwoPartsEqualsOneScan) {
  constexpr std::size_t nq = 5, m = 400, d = 24, half = 150;
  constexpr int k = 12;
  const auto queries = gaussian(nq * d, 4), keys = gaussian(m * d, 5);
  std::vector<std::uint64_t> ids(m);
  for (std::size_t i = 0; i < m; ++i) ids[i] = 3 * i + 1;
  std::vector<float> whole_s(nq * k), first_s(nq * k), second_s(nq * k);
  std::vector<std::uint64_t> whole(nq * k), first(nq * k), second(nq * k);
  exact_knn(Metric::kInnerProduct, d, nq, queries.data(), m, keys.data(), ids.data(), k, whole_s.data(), whole.data());
  exact_knn(Metric::kInnerProduct, d, nq, queries.data(), half, keys.data(), ids.data(), k, first_s.data(), first.data());
  exact_knn(Metric::kInnerProduct, d, nq, queries.data(), m - half, keys.data() + half * d, ids.data() + half, k,
            second_s.data(), second.data());
  merge_topk(nq, k, first_s.data(), first.data(), second_s.data(), second.data());
  EXPECT_EQ(first, whole);
  EXPECT_EQ(first_s, whole_s);
  // A part with fewer keys than k: its missing results stay behind every found one.
  std::vector<float> few_s(nq * k), none_s(nq * k);
  std::vector<std::uint64_t> few(nq * k), none(nq * k);
  exact_knn(Metric::kInnerProduct, d, nq, queries.data(), 3, keys.data(), ids.data(), k, few_s.data(), few.data());
  exact_knn(Metric::kInnerProduct, d, nq, queries.data(), 0, nullptr, nullptr, k, none_s.data(), none.data());
  merge_topk(nq, k, none_s.data(), none.data(), few_s.data(), few.data());
  EXPECT_EQ(none, few);
}

TEST(ExactKnn, NoKeysGivesOnlyMissingResults) {
  for (const DistanceKernels& level : supported_kernels()) {
    const auto queries = gaussian(2 * 8, 3);
    std::vector<float> scores(2 * 4, 0.0f);
    std::vector<std::uint64_t> out(2 * 4, 0);
    exact_knn_at(level.level, Metric::kInnerProduct, 8, 2, queries.data(), 0, nullptr, nullptr, 4, scores.data(), out.data());
    for (std::size_t i = 0; i < out.size(); ++i) {
      EXPECT_EQ(out[i], kNoSlot) << level.name;
      EXPECT_EQ(scores[i], -std::numeric_limits<float>::infinity()) << level.name;
    }
  }
}

}  // namespace
}  // namespace engram::index
