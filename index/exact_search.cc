#include "index/exact_search.h"

#include <faiss/utils/distances.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

#include "engram/types.h"

namespace engram::index {

void exact_knn(Metric metric, std::size_t d, std::size_t nq, const float* queries, std::size_t m,
               const float* keys, const std::uint64_t* ids, int k, float* scores, std::uint64_t* out_ids) {
  const std::size_t kk = static_cast<std::size_t>(k);
  std::vector<float> s(m);
  std::vector<std::uint32_t> order(m);
  for (std::size_t q = 0; q < nq; ++q) {
    const float* x = queries + q * d;
    if (metric == Metric::kL2) {
      faiss::fvec_L2sqr_ny(s.data(), x, keys, d, m);
      for (float& v : s) v = -v;
    } else {
      faiss::fvec_inner_products_ny(s.data(), x, keys, d, m);
    }
    std::iota(order.begin(), order.end(), 0u);
    const std::size_t top = std::min(kk, m);
    // Ties go to the smaller id, as a scan in id order would keep them.
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(top), order.end(),
                      [&](std::uint32_t a, std::uint32_t b) { return s[a] > s[b] || (s[a] == s[b] && ids[a] < ids[b]); });
    for (std::size_t j = 0; j < kk; ++j) {
      scores[q * kk + j] = j < top ? s[order[j]] : -std::numeric_limits<float>::infinity();
      out_ids[q * kk + j] = j < top ? ids[order[j]] : kNoSlot;
    }
  }
}

}  // namespace engram::index
