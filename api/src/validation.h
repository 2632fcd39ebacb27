// api/src/validation.h — the checks every operation runs on its input before touching anything.
#pragma once

#include "engram/config.h"
#include "engram/types.h"

namespace engram::detail {

// Throws kInvalidArgument unless `m` has `cols` columns (naming `what`, e.g. "queries") and
// every element is finite. An empty matrix (0 rows) passes.
void check_matrix(const MatrixView& m, int cols, const char* what);

// Throws kInvalidArgument naming `what` unless every element is finite.
void check_finite(const float* data, std::size_t n, const char* what);

// k = 0 means the memory's default; otherwise 1..kMaxK, else kInvalidArgument.
int resolve_k(int k, const MemoryConfig& config);

}  // namespace engram::detail
