#include "index/exact_search.h"

#include <faiss/utils/distances.h>
#include <omp.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "engram/types.h"
#include "index/exact_knn_tile.h"

namespace engram::index {
namespace {

// Keys packed at a time: a tile of this many bytes stays in a core's L2 cache while every
// chunk of queries streams through it.
constexpr std::size_t kTileBytes = 512 * 1024;
// Below this many multiply-adds a batch runs on one thread: waking the others costs more.
constexpr double kParallelMinFlops = 4e6;

// FAISS's brute-force k-NN (the portable level): rows into `rows`, scores "higher is closer".
void faiss_knn(Metric metric, std::size_t d, std::size_t nq, const float* queries, std::size_t m,
               const float* keys, int k, float* scores, std::int64_t* rows) {
  const std::size_t total = nq * static_cast<std::size_t>(k);
  if (metric == Metric::kL2) {
    faiss::knn_L2sqr(queries, keys, d, nq, m, static_cast<std::size_t>(k), scores, rows);
    for (std::size_t i = 0; i < total; ++i) scores[i] = -scores[i];
  } else {
    faiss::knn_inner_product(queries, keys, d, nq, m, static_cast<std::size_t>(k), scores, rows);
  }
}

// Rows [start, start + valid) of `keys` into `tile`'s layout (exact_knn_tile.h), zero-padded.
void pack(const float* keys, std::size_t d, std::size_t start, std::size_t valid, std::size_t lanes,
          std::size_t blocks, std::vector<float>* out) {
  out->assign(blocks * d * lanes, 0.0f);
  float* p = out->data();
  for (std::size_t r = 0; r < valid; ++r) {
    const float* key = keys + (start + r) * d;
    float* dst = p + (r / lanes) * d * lanes + r % lanes;
    for (std::size_t c = 0; c < d; ++c) dst[c * lanes] = key[c];
  }
}

void tiled_knn(KnnTileFn kernel, std::size_t lanes, Metric metric, std::size_t d, std::size_t nq,
               const float* queries, std::size_t m, const float* keys, int k, float* scores, std::int64_t* rows) {
  const std::size_t ks = static_cast<std::size_t>(k);
  std::vector<float> heap_scores(nq * ks);
  std::vector<std::int64_t> heap_rows(nq * ks);
  std::vector<int> sizes(nq, 0);
  std::vector<KnnHeap> heaps(nq);
  for (std::size_t i = 0; i < nq; ++i) heaps[i] = {heap_scores.data() + i * ks, heap_rows.data() + i * ks, k, &sizes[i]};

  const std::size_t group = lanes * 8;  // keys in 8 blocks: the kernel's unit
  const std::size_t tile_keys = std::max(group, kTileBytes / (d * sizeof(float)) / group * group);
  const int threads = static_cast<double>(nq) * static_cast<double>(m) * static_cast<double>(d) >= kParallelMinFlops
                          ? std::min<int>(omp_get_max_threads(), static_cast<int>((nq + 3) / 4))
                          : 1;
  // Each thread takes a run of whole 4-query chunks.
  const std::size_t per_thread = ((nq + static_cast<std::size_t>(threads) - 1) / static_cast<std::size_t>(threads) + 3) / 4 * 4;
  std::vector<float> packed;
  for (std::size_t start = 0; start < m; start += tile_keys) {
    const std::size_t valid = std::min(tile_keys, m - start);
    const std::size_t blocks = (valid + group - 1) / group * 8;
    pack(keys, d, start, valid, lanes, blocks, &packed);
    const PackedTile tile{packed.data(), lanes, blocks, d, valid, static_cast<std::int64_t>(start)};
#pragma omp parallel for num_threads(threads) schedule(static, 1) if (threads > 1)
    for (int t = 0; t < threads; ++t) {
      const std::size_t lo = static_cast<std::size_t>(t) * per_thread, hi = std::min(nq, lo + per_thread);
      if (lo < hi) kernel(tile, metric == Metric::kL2, hi - lo, queries + lo * d, heaps.data() + lo);
    }
  }
  // Each heap, best first; -1 where fewer than k keys were given.
  std::vector<std::pair<float, std::int64_t>> sorted;
  for (std::size_t i = 0; i < nq; ++i) {
    sorted.clear();
    for (int j = 0; j < sizes[i]; ++j) sorted.emplace_back(heaps[i].scores[j], heaps[i].rows[j]);
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (std::size_t j = 0; j < ks; ++j) {
      const bool have = j < sorted.size();
      scores[i * ks + j] = have ? sorted[j].first : -std::numeric_limits<float>::infinity();
      rows[i * ks + j] = have ? sorted[j].second : -1;
    }
  }
}

}  // namespace

void exact_knn_at(SimdLevel level, Metric metric, std::size_t d, std::size_t nq, const float* queries,
                  std::size_t m, const float* keys, const std::uint64_t* ids, int k, float* scores,
                  std::uint64_t* out_ids) {
  const std::size_t total = nq * static_cast<std::size_t>(k);
  std::vector<std::int64_t> rows(total, -1);
  if (m > 0) {
    switch (level) {
#if defined(__x86_64__)  // the only levels are scalar elsewhere (distance_kernels.h)
      case SimdLevel::kAvx512: tiled_knn(avx512::knn_tile, 16, metric, d, nq, queries, m, keys, k, scores, rows.data()); break;
      case SimdLevel::kAvx2: tiled_knn(avx2::knn_tile, 8, metric, d, nq, queries, m, keys, k, scores, rows.data()); break;
#endif
      default: faiss_knn(metric, d, nq, queries, m, keys, k, scores, rows.data()); break;
    }
  }
  for (std::size_t i = 0; i < total; ++i) {
    out_ids[i] = rows[i] < 0 ? kNoSlot : ids[rows[i]];
    if (rows[i] < 0) scores[i] = -std::numeric_limits<float>::infinity();
  }
}

void exact_knn(Metric metric, std::size_t d, std::size_t nq, const float* queries, std::size_t m,
               const float* keys, const std::uint64_t* ids, int k, float* scores, std::uint64_t* out_ids) {
  exact_knn_at(active_kernels().level, metric, d, nq, queries, m, keys, ids, k, scores, out_ids);
}

}  // namespace engram::index
