#include "index/exact_search.h"

#include <faiss/utils/distances.h>

#include <limits>
#include <vector>

#include "engram/types.h"

namespace engram::index {

void exact_knn(Metric metric, std::size_t d, std::size_t nq, const float* queries, std::size_t m,
               const float* keys, const std::uint64_t* ids, int k, float* scores, std::uint64_t* out_ids) {
  const std::size_t total = nq * static_cast<std::size_t>(k);
  std::vector<std::int64_t> rows(total, -1);
  if (m > 0) {
    // FAISS's brute-force k-NN: one matrix product (BLAS) for a batch of queries, a scan for a few.
    if (metric == Metric::kL2) faiss::knn_L2sqr(queries, keys, d, nq, m, static_cast<std::size_t>(k), scores, rows.data());
    else faiss::knn_inner_product(queries, keys, d, nq, m, static_cast<std::size_t>(k), scores, rows.data());
  }
  for (std::size_t i = 0; i < total; ++i) {
    if (rows[i] < 0) {
      out_ids[i] = kNoSlot;
      scores[i] = -std::numeric_limits<float>::infinity();
    } else {
      out_ids[i] = ids[rows[i]];
      if (metric == Metric::kL2) scores[i] = -scores[i];  // higher is closer
    }
  }
}

}  // namespace engram::index
