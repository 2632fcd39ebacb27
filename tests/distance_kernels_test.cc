// Every distance kernel this CPU can run agrees with a double-precision reference, at every
// dimension up to 300 (so every tail length of every vector width is hit), on unaligned rows.
#include "index/distance_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace engram::index {
namespace {

struct Reference {
  double ip = 0, l2 = 0, scale = 0;  // scale: Σ|a_i·b_i| or Σ(a_i − b_i)², what rounding is relative to
};

Reference reference(const float* a, const float* b, std::size_t dim) {
  Reference r;
  double abs_ip = 0;
  for (std::size_t i = 0; i < dim; ++i) {
    r.ip += static_cast<double>(a[i]) * b[i];
    abs_ip += std::fabs(static_cast<double>(a[i]) * b[i]);
    const double d = static_cast<double>(a[i]) - b[i];
    r.l2 += d * d;
  }
  r.scale = abs_ip;
  return r;
}

TEST(DistanceKernels, ScalarIsAlwaysThereAndTheActiveLevelIsSupported) {
  const auto all = supported_kernels();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().level, SimdLevel::kScalar);
  bool found = false;
  for (const auto& k : all) found |= k.level == active_kernels().level;
  EXPECT_TRUE(found) << simd_level_name();
}

#if defined(__x86_64__)
TEST(DistanceKernels, TheWidestLevelTheCpuHasIsFound) {
  __builtin_cpu_init();
  const auto all = supported_kernels();
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  EXPECT_EQ(all.back().level, avx512 ? SimdLevel::kAvx512 : avx2 ? SimdLevel::kAvx2 : SimdLevel::kScalar);
  EXPECT_EQ(all.size(), 1u + avx2 + avx512);
}
#endif

TEST(DistanceKernels, EveryLevelAgreesWithTheReferenceAtEveryDimension) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // One element of slack in front, so rows start at addresses that are not 64-byte aligned.
  std::vector<float> a(301 + 1), b(301 + 1);
  for (auto& v : a) v = normal(rng);
  for (auto& v : b) v = normal(rng);
  for (const auto& k : supported_kernels()) {
    for (std::size_t dim = 1; dim <= 300; ++dim) {
      const float* x = a.data() + 1;
      const float* y = b.data() + 1;
      const Reference r = reference(x, y, dim);
      const double ip_tol = 1e-5 * r.scale + 1e-6, l2_tol = 1e-5 * r.l2 + 1e-6;
      ASSERT_NEAR(k.inner_product(x, y, dim), r.ip, ip_tol) << k.name << " dim " << dim;
      ASSERT_NEAR(k.l2_squared(x, y, dim), r.l2, l2_tol) << k.name << " dim " << dim;
      // The graph forms: distances to minimise, dimension passed by pointer.
      ASSERT_NEAR(k.ip_distance(x, y, &dim), -r.ip, ip_tol) << k.name << " dim " << dim;
      ASSERT_NEAR(k.l2_distance(x, y, &dim), r.l2, l2_tol) << k.name << " dim " << dim;
    }
  }
}

TEST(DistanceKernels, EveryLevelRanksNeighboursLikeTheScalarOne) {
  // The property a search depends on: the same nearest row, whatever the level.
  std::mt19937 rng(12);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const std::size_t n = 500, dim = 128;
  std::vector<float> rows(n * dim), query(dim);
  for (auto& v : rows) v = normal(rng);
  for (auto& v : query) v = normal(rng);
  const auto all = supported_kernels();
  auto best = [&](float (*f)(const float*, const float*, std::size_t), bool larger) {
    std::size_t arg = 0;
    float value = f(query.data(), rows.data(), dim);
    for (std::size_t i = 1; i < n; ++i) {
      const float v = f(query.data(), rows.data() + i * dim, dim);
      if (larger ? v > value : v < value) value = v, arg = i;
    }
    return arg;
  };
  for (const auto& k : all) {
    EXPECT_EQ(best(k.inner_product, true), best(all.front().inner_product, true)) << k.name;
    EXPECT_EQ(best(k.l2_squared, false), best(all.front().l2_squared, false)) << k.name;
  }
}

}  // namespace
}  // namespace engram::index
