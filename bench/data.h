// bench/data.h — seeded synthetic data: clustered unit vectors and their exact neighbours.
//
// Keys and queries come from one mixture of isotropic Gaussians around random unit centres,
// L2-normalised afterwards, so inner product equals cosine and the data has the cluster
// structure real embeddings have (uniform random vectors would make every ANN index look bad).
// Every sample is a pure function of (seed, row): the data is the same whatever the thread
// count, and a larger --n extends a smaller one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace engram::bench {

class Mixture {
 public:
  // `spread`: per-coordinate standard deviation around a centre (before normalisation).
  Mixture(int dim, int components, float spread, std::uint64_t seed);
  // n × dim row-major, rows `first`..`first+n-1` of the stream named by `stream`.
  std::vector<float> sample(std::size_t n, std::uint64_t stream, std::size_t first = 0) const;
  int dim() const { return dim_; }

 private:
  int dim_;
  int components_;
  float spread_;
  std::uint64_t seed_;
  std::vector<float> centres_;  // components × dim, unit rows
};

// n × dim unit vectors, uniform on the sphere (for values).
std::vector<float> random_unit(std::size_t n, int dim, std::uint64_t seed);

// Exact inner-product top-k of every query over `base` (FAISS IndexFlatIP): nq × k labels.
std::vector<std::int64_t> exact_topk(const float* base, std::size_t n, const float* queries,
                                     std::size_t nq, int dim, int k);

// Mean over queries of |found[0..k) ∩ truth[0..k)| / k. `found` has found_k entries a row,
// `truth` truth_k; ids are row numbers (negative: none).
double recall_at(int k, const std::int64_t* found, int found_k, const std::vector<std::int64_t>& truth,
                 int truth_k, std::size_t nq);

}  // namespace engram::bench
