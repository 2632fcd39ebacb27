#include "api/src/validation.h"

#include <cmath>
#include <string>

#include "engram/error.h"

namespace engram::detail {

void check_finite(const float* data, std::size_t n, const char* what) {
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(data[i])) {
      throw Error(ErrorCode::kInvalidArgument, std::string(what) + " holds a NaN or Inf at element " +
                                                   std::to_string(i));
    }
  }
}

void check_matrix(const MatrixView& m, int cols, const char* what) {
  if (m.rows == 0) return;
  if (m.cols != static_cast<std::size_t>(cols)) {
    throw Error(ErrorCode::kInvalidArgument, std::string(what) + " have dimension " +
                                                 std::to_string(m.cols) + ", the memory expects " +
                                                 std::to_string(cols));
  }
  if (m.data == nullptr) throw Error(ErrorCode::kInvalidArgument, std::string(what) + " has no data");
  check_finite(m.data, m.rows * m.cols, what);
}

void check_rows(const MatrixView& keys, const MatrixView& values, const std::vector<std::string>& payloads,
                const MemoryConfig& config) {
  check_matrix(keys, config.key_dim, "keys");
  check_matrix(values, config.value_dim, "values");
  if (keys.rows != values.rows) {
    throw Error(ErrorCode::kInvalidArgument,
                std::to_string(keys.rows) + " keys but " + std::to_string(values.rows) + " values");
  }
  if (!payloads.empty() && payloads.size() != keys.rows) {
    throw Error(ErrorCode::kInvalidArgument,
                std::to_string(payloads.size()) + " payloads for " + std::to_string(keys.rows) + " slots");
  }
}

int resolve_k(int k, const MemoryConfig& config) {
  if (k == 0) return config.default_k;
  if (k < 0 || k > kMaxK) {
    throw Error(ErrorCode::kInvalidArgument,
                "k must be in 1.." + std::to_string(kMaxK) + " (or 0 for the default), got " +
                    std::to_string(k));
  }
  return k;
}

index::SearchTuning resolve_tuning(const SearchOptions& options) {
  auto check = [](int v, int max, const char* name) {
    if (v < 0 || v > max) {
      throw Error(ErrorCode::kInvalidArgument, std::string(name) + " must be in 1.." + std::to_string(max) +
                                                   " (or 0 for the memory's setting), got " + std::to_string(v));
    }
  };
  check(options.ef, kMaxEf, "ef");
  check(options.nprobe, kMaxNprobe, "nprobe");
  return index::SearchTuning{options.ef, options.nprobe};
}

}  // namespace engram::detail
