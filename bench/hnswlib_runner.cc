// The only file that includes hnswlib (see hnswlib_runner.h).
#include "bench/hnswlib_runner.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <vector>

namespace engram::bench {

struct HnswlibIndex::Rep {
  hnswlib::InnerProductSpace space;
  hnswlib::HierarchicalNSW<float> graph;
  int dim;
  Rep(int d, std::size_t max_elements, int M, int efc, std::uint64_t seed)
      : space(static_cast<std::size_t>(d)),
        graph(&space, max_elements, static_cast<std::size_t>(M), static_cast<std::size_t>(efc),
              static_cast<std::size_t>(seed)),
        dim(d) {}
};

HnswlibIndex::HnswlibIndex(int dim, std::size_t max_elements, int M, int ef_construction,
                           std::uint64_t seed)
    : rep_(std::make_unique<Rep>(dim, max_elements, M, ef_construction, seed)) {}

HnswlibIndex::~HnswlibIndex() = default;

void HnswlibIndex::add(std::size_t n, const float* x, std::size_t first_label) {
  if (n == 0) return;
  const std::size_t d = static_cast<std::size_t>(rep_->dim);
  // Into an empty graph, the first point goes alone (it becomes the entry point); the rest go in
  // parallel as hnswlib's own Python bindings do.
  long long begin = 0;
  if (rep_->graph.cur_element_count == 0) {
    rep_->graph.addPoint(x, first_label);
    begin = 1;
  }
  const long long count = static_cast<long long>(n);
#pragma omp parallel for schedule(dynamic, 64)
  for (long long i = begin; i < count; ++i) {
    rep_->graph.addPoint(x + static_cast<std::size_t>(i) * d, static_cast<hnswlib::labeltype>(first_label + i));
  }
}

void HnswlibIndex::save(const std::string& path) const { rep_->graph.saveIndex(path); }

void HnswlibIndex::search(std::size_t nq, const float* queries, int k, int ef,
                          std::int64_t* labels) const {
  rep_->graph.setEf(static_cast<std::size_t>(ef));
  const std::size_t d = static_cast<std::size_t>(rep_->dim);
  const long long count = static_cast<long long>(nq);
  // One query runs on the calling thread, with no parallel region to open (as a caller of
  // searchKnn would); a batch on all threads.
#pragma omp parallel for schedule(dynamic, 16) if (count > 1)
  for (long long q = 0; q < count; ++q) {
    auto top = rep_->graph.searchKnn(queries + static_cast<std::size_t>(q) * d, static_cast<std::size_t>(k));
    std::int64_t* out = labels + static_cast<std::size_t>(q) * k;
    std::fill(out, out + k, -1);
    // The queue pops the farthest first.
    for (int j = static_cast<int>(top.size()) - 1; j >= 0; --j) {
      out[j] = static_cast<std::int64_t>(top.top().second);
      top.pop();
    }
  }
}

int HnswlibIndex::level0_neighbours() const { return static_cast<int>(rep_->graph.maxM0_); }

std::string HnswlibIndex::simd() {
#if defined(USE_AVX512)
  return "avx512";
#elif defined(USE_AVX)
  return "avx";
#elif defined(USE_SSE)
  return "sse";
#else
  return "scalar";
#endif
}

}  // namespace engram::bench
