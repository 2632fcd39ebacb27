// index/exact_search.h — exact k-NN over a given set of keys: how a very selective filter, or
// one an index cannot apply, is searched (api/src/memory_filter.cc).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engram/config.h"
#include "index/distance_kernels.h"

namespace engram::index {

// queries: nq × d; keys: m × d with ids[m]. Fills scores and out_ids (nq × k each), best first,
// "higher is closer" (q·k, or −|q−k|² for L2); missing results: kNoSlot and -inf.
// Scored with the widest SIMD kernels the CPU has (active_kernels()): keys are packed into
// cache-sized tiles and each tile scored against 4 queries at a time, on all OpenMP threads for
// a batch; the portable level uses FAISS's brute-force k-NN (BLAS for a batch).
void exact_knn(Metric metric, std::size_t d, std::size_t nq, const float* queries, std::size_t m,
               const float* keys, const std::uint64_t* ids, int k, float* scores, std::uint64_t* out_ids);

// Folds a second result of the same queries into the first: each query's k best of both lists
// (each best first, missing results last), best first, into scores / ids. For a scan done in
// parts.
void merge_topk(std::size_t nq, int k, float* scores, std::uint64_t* ids, const float* more_scores,
                const std::uint64_t* more_ids);

// The same at a given level (tests compare the levels; benchmarks time them).
// REQUIRES: the CPU supports `level` (supported_kernels()).
void exact_knn_at(SimdLevel level, Metric metric, std::size_t d, std::size_t nq, const float* queries,
                  std::size_t m, const float* keys, const std::uint64_t* ids, int k, float* scores,
                  std::uint64_t* out_ids);

}  // namespace engram::index
