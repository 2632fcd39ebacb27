// index/exact_search.h — exact k-NN over a given set of keys: how a very selective filter, or
// one an index cannot apply, is searched (api/src/memory_filter.cc).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engram/config.h"

namespace engram::index {

// queries: nq × d; keys: m × d with ids[m] (FAISS's knn_inner_product / knn_L2sqr: BLAS for a
// batch). Fills scores and out_ids (nq × k each), best first,
// "higher is closer" (q·k, or −|q−k|² for L2); missing results: kNoSlot and -inf.
void exact_knn(Metric metric, std::size_t d, std::size_t nq, const float* queries, std::size_t m,
               const float* keys, const std::uint64_t* ids, int k, float* scores, std::uint64_t* out_ids);

}  // namespace engram::index
