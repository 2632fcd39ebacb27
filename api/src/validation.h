// api/src/validation.h — the checks every operation runs on its input before touching anything.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engram/config.h"
#include "engram/types.h"
#include "index/vector_index.h"

namespace engram::detail {

// True when none of the n floats is NaN or ±Inf (exponent bits all ones). Branch-free, so the
// compiler vectorizes it: bulk loads check every row while it is still in cache.
inline bool all_finite(const float* x, std::size_t n) {
  std::uint32_t acc = 0;  // bit 31 set by any element whose exponent is all ones: +1 carries out
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t u;
    std::memcpy(&u, x + i, 4);
    acc |= (u & 0x7f800000u) + 0x00800000u;
  }
  return (acc & 0x80000000u) == 0;
}


// Throws kInvalidArgument unless `m` has `cols` columns (naming `what`, e.g. "queries") and
// every element is finite. An empty matrix (0 rows) passes.
void check_matrix(const MatrixView& m, int cols, const char* what);

// The rows of an insert: keys and values of the memory's dimensions, as many of each, and no
// payloads or one per row. Else kInvalidArgument.
void check_rows(const MatrixView& keys, const MatrixView& values, const std::vector<std::string>& payloads,
                const MemoryConfig& config);

// Throws kInvalidArgument naming `what` unless every element is finite.
void check_finite(const float* data, std::size_t n, const char* what);

// k = 0 means the memory's default; otherwise 1..kMaxK, else kInvalidArgument.
int resolve_k(int k, const MemoryConfig& config);

// The index overrides of a search or read: ef in 0..kMaxEf and nprobe in 0..kMaxNprobe (0: the
// memory's setting), else kInvalidArgument.
index::SearchTuning resolve_tuning(const SearchOptions& options);

}  // namespace engram::detail
