// bench/hnswlib_runner.h — hnswlib behind a plain interface, so that its header (which defines
// non-inline functions and picks SIMD kernels at compile time) is compiled in one file only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace engram::bench {

class HnswlibIndex {
 public:
  // Inner-product space (hnswlib's distance is 1 − q·x).
  HnswlibIndex(int dim, std::size_t max_elements, int M, int ef_construction, std::uint64_t seed);
  ~HnswlibIndex();

  // Adds rows 0..n-1 of x with labels first_label.., over all OpenMP threads.
  void add(std::size_t n, const float* x, std::size_t first_label = 0);
  // hnswlib's own saveIndex.
  void save(const std::string& path) const;
  // Top-k labels of each query (nq × k, best first; -1 pads), over all OpenMP threads.
  void search(std::size_t nq, const float* queries, int k, int ef, std::int64_t* labels) const;

  int level0_neighbours() const;   // maxM0 = 2·M
  static std::string simd();       // the kernels compiled in: "sse", "avx", "avx512" or "scalar"

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace engram::bench
