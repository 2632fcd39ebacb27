// index/exact_knn_tile.cc — see exact_knn_tile.h. Compiled twice (index/CMakeLists.txt): with
// ENGRAM_KNN_AVX512 and -mavx512f, and with ENGRAM_KNN_AVX2 and -mavx2 -mfma. Everything here
// has internal linkage or lives in that level's namespace, and no standard-library template is
// used, so no code compiled for a wide instruction set can be picked by the linker for others.
#include "index/exact_knn_tile.h"

#include <immintrin.h>

#if defined(ENGRAM_KNN_AVX512)
#define ENGRAM_KNN_LEVEL avx512
#elif defined(ENGRAM_KNN_AVX2)
#define ENGRAM_KNN_LEVEL avx2
#else
#error "build this file through index/CMakeLists.txt, once per instruction set"
#endif

namespace engram::index::ENGRAM_KNN_LEVEL {
namespace {

#if defined(ENGRAM_KNN_AVX512)
using Vec = __m512;
constexpr std::size_t kLanes = 16;
inline Vec zero() { return _mm512_setzero_ps(); }
inline Vec load(const float* p) { return _mm512_loadu_ps(p); }
inline Vec splat(float x) { return _mm512_set1_ps(x); }
inline Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline Vec sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
inline void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
// Bit j set where lane j is greater than t.
inline unsigned above(Vec v, float t) { return _mm512_cmp_ps_mask(v, _mm512_set1_ps(t), _CMP_GT_OQ); }
#else
using Vec = __m256;
constexpr std::size_t kLanes = 8;
inline Vec zero() { return _mm256_setzero_ps(); }
inline Vec load(const float* p) { return _mm256_loadu_ps(p); }
inline Vec splat(float x) { return _mm256_set1_ps(x); }
inline Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline Vec sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
inline void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
inline unsigned above(Vec v, float t) {
  return static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_set1_ps(t), _CMP_GT_OQ)));
}
#endif

// Q queries against B blocks (B × lanes keys) starting at block b. Q × B independent
// accumulators keep the FMA units busy (a chain of dependent FMAs waits out each one's
// latency), and each key load serves Q queries.
template <int Q, int B, bool L2>
void score_group(const PackedTile& t, std::size_t b, const float* const* q, const KnnHeap* const* heaps) {
  const std::size_t d = t.dim;
  Vec acc[Q][B];
#pragma GCC unroll 8
  for (int i = 0; i < Q; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < B; ++j) acc[i][j] = zero();
  const float* base = t.packed + b * d * kLanes;
  for (std::size_t c = 0; c < d; ++c) {
    Vec key[B];
#pragma GCC unroll 8
    for (int j = 0; j < B; ++j) key[j] = load(base + (static_cast<std::size_t>(j) * d + c) * kLanes);
#pragma GCC unroll 8
    for (int i = 0; i < Q; ++i) {
      const Vec x = splat(q[i][c]);
#pragma GCC unroll 8
      for (int j = 0; j < B; ++j) {
        if (L2) {
          const Vec diff = sub(x, key[j]);
          acc[i][j] = fmadd(diff, diff, acc[i][j]);
        } else {
          acc[i][j] = fmadd(x, key[j], acc[i][j]);
        }
      }
    }
  }
  const unsigned full = (1u << kLanes) - 1;
  float lanes[kLanes];
  for (int j = 0; j < B; ++j) {
    const std::size_t first = (b + static_cast<std::size_t>(j)) * kLanes;
    if (first >= t.valid) break;  // padding from here on
    const unsigned valid = first + kLanes <= t.valid ? full : (1u << (t.valid - first)) - 1;
    for (int i = 0; i < Q; ++i) {
      const KnnHeap& h = *heaps[i];
      const Vec score = L2 ? sub(zero(), acc[i][j]) : acc[i][j];
      unsigned take = *h.size < h.k ? valid : above(score, h.scores[0]) & valid;
      if (take == 0) continue;  // the common case once the heap holds k good results
      store(lanes, score);
      while (take != 0) {
        const int lane = __builtin_ctz(take);
        take &= take - 1;
        knn_offer(h, lanes[lane], t.first_row + static_cast<std::int64_t>(first) + lane);
      }
    }
  }
}

// Loop order for L1: queries in runs of about 16 KiB, and for each run every group of 2 key
// blocks (8 KiB a block at d 128) against the run's queries, 4 at a time — so both the group and
// the run stay in L1 while they are reused.
template <bool L2>
void score_queries(const PackedTile& tile, std::size_t nq, const float* queries, const KnnHeap* heaps) {
  constexpr int kGroup = 2;  // tile.blocks is even
  const std::size_t d = tile.dim;
  const std::size_t run = (16 * 1024 / (d * sizeof(float)) + 3) / 4 * 4 + 4;  // whole 4-query chunks
  for (std::size_t start = 0; start < nq; start += run) {
    const std::size_t end = start + run < nq ? start + run : nq;
    for (std::size_t b = 0; b < tile.blocks; b += kGroup) {
      std::size_t i = start;
      for (; i + 4 <= end; i += 4) {
        const float* q[4] = {queries + i * d, queries + (i + 1) * d, queries + (i + 2) * d, queries + (i + 3) * d};
        const KnnHeap* h[4] = {heaps + i, heaps + i + 1, heaps + i + 2, heaps + i + 3};
        score_group<4, kGroup, L2>(tile, b, q, h);
      }
      for (; i < end; ++i) {
        const float* q[1] = {queries + i * d};
        const KnnHeap* h[1] = {heaps + i};
        score_group<1, kGroup, L2>(tile, b, q, h);
      }
    }
  }
}

}  // namespace

void knn_tile(const PackedTile& tile, bool l2, std::size_t nq, const float* queries, const KnnHeap* heaps) {
  if (l2) score_queries<true>(tile, nq, queries, heaps);
  else score_queries<false>(tile, nq, queries, heaps);
}

}  // namespace engram::index::ENGRAM_KNN_LEVEL
