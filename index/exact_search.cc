#include "index/exact_search.h"

#include <faiss/utils/Heap.h>
#include <faiss/utils/distances.h>
#include <omp.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <vector>

#include "engram/types.h"
#include "index/exact_knn_tile.h"

namespace engram::index {

void knn_offer(const KnnHeap& h, float score, std::int64_t row) {
  // FAISS's heap: CMin keeps the k largest scores with the smallest on top.
  using Heap = faiss::CMin<float, std::int64_t>;
  const std::size_t n = static_cast<std::size_t>(*h.size), k = static_cast<std::size_t>(h.k);
  if (n < k) {
    faiss::heap_push<Heap>(n + 1, h.scores, h.rows, score, row);
    ++*h.size;
  } else if (score > h.scores[0]) {
    faiss::heap_replace_top<Heap>(k, h.scores, h.rows, score, row);
  }
}

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

// nq heaps of k, and their contents best first.
class Heaps {
 public:
  Heaps(std::size_t nq, int k)
      : k_(static_cast<std::size_t>(k)), scores_(nq * k_), rows_(nq * k_), sizes_(nq, 0), heaps_(nq) {
    for (std::size_t i = 0; i < nq; ++i) heaps_[i] = {scores_.data() + i * k_, rows_.data() + i * k_, k, &sizes_[i]};
  }
  const KnnHeap* data() const { return heaps_.data(); }
  const KnnHeap& operator[](std::size_t i) const { return heaps_[i]; }

  // Each query's results best first (equal scores: the lower row first); -1 past what was found.
  void write(float* scores, std::int64_t* rows) const {
    std::vector<std::pair<float, std::int64_t>> sorted;
    for (std::size_t i = 0; i < heaps_.size(); ++i) {
      sorted.clear();
      for (int j = 0; j < sizes_[i]; ++j) sorted.emplace_back(heaps_[i].scores[j], heaps_[i].rows[j]);
      std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      });
      for (std::size_t j = 0; j < k_; ++j) {
        const bool have = j < sorted.size();
        scores[i * k_ + j] = have ? sorted[j].first : -std::numeric_limits<float>::infinity();
        rows[i * k_ + j] = have ? sorted[j].second : -1;
      }
    }
  }

 private:
  std::size_t k_;
  std::vector<float> scores_;
  std::vector<std::int64_t> rows_;
  std::vector<int> sizes_;
  std::vector<KnnHeap> heaps_;
};

// The kernels of `level`: the active ones unless a test or a benchmark asks for another.
DistanceKernels kernels_at(SimdLevel level) {
  if (level == active_kernels().level) return active_kernels();
  for (const DistanceKernels& kernels : supported_kernels())
    if (kernels.level == level) return kernels;
  return active_kernels();  // unreachable for a supported level (exact_search.h's REQUIRES)
}

// A query or three: each key once through the distance kernel, where packing the keys for the
// tiled kernel would cost more than it saves.
void direct_knn(const DistanceKernels& kernels, Metric metric, std::size_t d, std::size_t nq, const float* queries,
                std::size_t m, const float* keys, const Heaps& heaps) {
  for (std::size_t i = 0; i < nq; ++i) {
    const float* q = queries + i * d;
    const KnnHeap& heap = heaps[i];
    for (std::size_t r = 0; r < m; ++r) {
      const float s = metric == Metric::kL2 ? -kernels.l2_squared(q, keys + r * d, d) : kernels.inner_product(q, keys + r * d, d);
      if (*heap.size < heap.k || s > heap.scores[0]) knn_offer(heap, s, static_cast<std::int64_t>(r));
    }
  }
}

// Block b of a tile whose first key is row `start` (exact_knn_tile.h's layout), zero-padded.
void pack_block(const float* keys, std::size_t d, std::size_t start, std::size_t valid, std::size_t lanes,
                std::size_t b, float* packed) {
  float* block = packed + b * d * lanes;
  const std::size_t first = b * lanes, real = first < valid ? std::min(lanes, valid - first) : 0;
  const float* rows = keys + (start + first) * d;
  for (std::size_t j = 0; j < real; ++j)
    for (std::size_t c = 0; c < d; ++c) block[c * lanes + j] = rows[j * d + c];
  for (std::size_t j = real; j < lanes; ++j)
    for (std::size_t c = 0; c < d; ++c) block[c * lanes + j] = 0.0f;
}

void tiled_knn(KnnTileFn kernel, std::size_t lanes, Metric metric, std::size_t d, std::size_t nq,
               const float* queries, std::size_t m, const float* keys, const Heaps& heaps) {
  const std::size_t group = lanes * 2;  // keys in 2 blocks: the kernel's unit
  const std::size_t tile_keys = std::max(group, kTileBytes / (d * sizeof(float)) / group * group);
  const bool parallel = static_cast<double>(nq) * static_cast<double>(m) * static_cast<double>(d) >= kParallelMinFlops;
  const int threads = parallel ? std::min<int>(omp_get_max_threads(), static_cast<int>((nq + 3) / 4)) : 1;
  // Uninitialised: pack_block writes every float of a block, padding included.
  const std::unique_ptr<float[]> packed(new float[std::min(tile_keys, (m + group - 1) / group * group) * d]);
  // One team for every tile: the threads pack a tile together, then each scores its own run of
  // whole 4-query chunks against it; the barriers keep a tile whole while anyone reads it.
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const std::size_t team = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t per_thread = ((nq + team - 1) / team + 3) / 4 * 4;
    const std::size_t lo = std::min(nq, static_cast<std::size_t>(omp_get_thread_num()) * per_thread);
    const std::size_t hi = std::min(nq, lo + per_thread);
    for (std::size_t start = 0; start < m; start += tile_keys) {
      const std::size_t valid = std::min(tile_keys, m - start);
      const std::size_t blocks = (valid + group - 1) / group * 2;
#pragma omp for schedule(static)
      for (std::size_t b = 0; b < blocks; ++b) pack_block(keys, d, start, valid, lanes, b, packed.get());
      const PackedTile tile{packed.get(), lanes, blocks, d, valid, static_cast<std::int64_t>(start)};
      if (lo < hi) kernel(tile, metric == Metric::kL2, hi - lo, queries + lo * d, heaps.data() + lo);
#pragma omp barrier
    }
  }
}

}  // namespace

void exact_knn_at(SimdLevel level, Metric metric, std::size_t d, std::size_t nq, const float* queries,
                  std::size_t m, const float* keys, const std::uint64_t* ids, int k, float* scores,
                  std::uint64_t* out_ids) {
  const std::size_t total = nq * static_cast<std::size_t>(k);
  std::vector<std::int64_t> rows(total, -1);
  if (m > 0 && level == SimdLevel::kScalar) {
    faiss_knn(metric, d, nq, queries, m, keys, k, scores, rows.data());
  } else if (m > 0) {
    const Heaps heaps(nq, k);
    if (nq < 4) {
      direct_knn(kernels_at(level), metric, d, nq, queries, m, keys, heaps);
    } else {
#if defined(__x86_64__)  // elsewhere the only level is scalar (distance_kernels.h)
      if (level == SimdLevel::kAvx512) tiled_knn(avx512::knn_tile, 16, metric, d, nq, queries, m, keys, heaps);
      else tiled_knn(avx2::knn_tile, 8, metric, d, nq, queries, m, keys, heaps);
#endif
    }
    heaps.write(scores, rows.data());
  }
  for (std::size_t i = 0; i < total; ++i) {
    out_ids[i] = rows[i] < 0 ? kNoSlot : ids[rows[i]];
    if (rows[i] < 0) scores[i] = -std::numeric_limits<float>::infinity();
  }
}

void merge_topk(std::size_t nq, int k, float* scores, std::uint64_t* ids, const float* more_scores,
                const std::uint64_t* more_ids) {
  const std::size_t ks = static_cast<std::size_t>(k);
  std::vector<float> s(ks);
  std::vector<std::uint64_t> id(ks);
  for (std::size_t q = 0; q < nq; ++q) {
    float* a_s = scores + q * ks;
    std::uint64_t* a_id = ids + q * ks;
    const float* b_s = more_scores + q * ks;
    const std::uint64_t* b_id = more_ids + q * ks;
    std::size_t a = 0, b = 0;
    for (std::size_t j = 0; j < ks; ++j) {
      // A missing result (kNoSlot) never beats a found one, whatever its score.
      const bool take_a = b_id[b] == kNoSlot || (a_id[a] != kNoSlot && a_s[a] >= b_s[b]);
      s[j] = take_a ? a_s[a] : b_s[b];
      id[j] = take_a ? a_id[a++] : b_id[b++];
    }
    std::copy(s.begin(), s.end(), a_s);
    std::copy(id.begin(), id.end(), a_id);
  }
}

void exact_knn(Metric metric, std::size_t d, std::size_t nq, const float* queries, std::size_t m,
               const float* keys, const std::uint64_t* ids, int k, float* scores, std::uint64_t* out_ids) {
  exact_knn_at(active_kernels().level, metric, d, nq, queries, m, keys, ids, k, scores, out_ids);
}

}  // namespace engram::index
