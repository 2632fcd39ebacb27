#include "bench/data.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <unordered_set>

#include <faiss/IndexFlat.h>

namespace engram::bench {
namespace {

// SplitMix64: decorrelates (seed, stream, row) into an independent generator seed.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void normalise(float* v, int dim) {
  double s = 0;
  for (int d = 0; d < dim; ++d) s += static_cast<double>(v[d]) * v[d];
  const float inv = s > 0 ? static_cast<float>(1.0 / std::sqrt(s)) : 0.0f;
  for (int d = 0; d < dim; ++d) v[d] *= inv;
}

// Rows are generated in blocks of kBlock, each block from its own generator, so blocks can be
// filled in parallel and a row's value does not depend on the thread count.
constexpr std::size_t kBlock = 4096;

}  // namespace

Mixture::Mixture(int dim, int components, float spread, std::uint64_t seed)
    : dim_(dim), components_(components), spread_(spread), seed_(seed),
      centres_(static_cast<std::size_t>(components) * dim) {
  std::mt19937_64 rng(mix(seed));
  std::normal_distribution<float> normal;
  for (int c = 0; c < components; ++c) {
    float* v = centres_.data() + static_cast<std::size_t>(c) * dim;
    for (int d = 0; d < dim; ++d) v[d] = normal(rng);
    normalise(v, dim);
  }
}

std::vector<float> Mixture::sample(std::size_t n, std::uint64_t stream, std::size_t first) const {
  std::vector<float> out(n * dim_);
  const std::size_t dim = static_cast<std::size_t>(dim_);
  const std::size_t b0 = first / kBlock, b1 = (first + n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(dynamic)
  for (std::size_t b = b0; b < b1; ++b) {
    std::mt19937_64 rng(mix(mix(seed_ ^ (stream * 0x100000001b3ull)) + b));
    std::normal_distribution<float> normal;
    std::uniform_int_distribution<int> pick(0, components_ - 1);
    std::vector<float> row(dim);
    for (std::size_t r = b * kBlock; r < (b + 1) * kBlock; ++r) {
      const float* c = centres_.data() + static_cast<std::size_t>(pick(rng)) * dim;
      for (std::size_t d = 0; d < dim; ++d) row[d] = c[d] + spread_ * normal(rng);
      normalise(row.data(), dim_);
      if (r >= first && r < first + n) std::copy(row.begin(), row.end(), out.begin() + (r - first) * dim);
    }
  }
  return out;
}

std::vector<float> random_unit(std::size_t n, int dim, std::uint64_t seed) {
  std::vector<float> out(n * dim);
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(dynamic)
  for (std::size_t b = 0; b < blocks; ++b) {
    std::mt19937_64 rng(mix(mix(seed) + b));
    std::normal_distribution<float> normal;
    for (std::size_t r = b * kBlock; r < std::min(n, (b + 1) * kBlock); ++r) {
      float* v = out.data() + r * dim;
      for (int d = 0; d < dim; ++d) v[d] = normal(rng);
      normalise(v, dim);
    }
  }
  return out;
}

std::vector<std::int64_t> exact_topk(const float* base, std::size_t n, const float* queries,
                                     std::size_t nq, int dim, int k) {
  faiss::IndexFlatIP flat(dim);
  flat.add(static_cast<faiss::Index::idx_t>(n), base);
  std::vector<float> scores(nq * k);
  std::vector<faiss::Index::idx_t> labels(nq * k);
  flat.search(static_cast<faiss::Index::idx_t>(nq), queries, k, scores.data(), labels.data());
  return std::vector<std::int64_t>(labels.begin(), labels.end());
}

double recall_at(int k, const std::int64_t* found, int found_k, const std::vector<std::int64_t>& truth,
                 int truth_k, std::size_t nq) {
  if (k > found_k || k > truth_k) throw std::invalid_argument("recall_at: k larger than the lists");
  double hits = 0;
  for (std::size_t q = 0; q < nq; ++q) {
    std::unordered_set<std::int64_t> t(truth.begin() + q * truth_k, truth.begin() + q * truth_k + k);
    for (int j = 0; j < k; ++j) {
      const std::int64_t id = found[q * found_k + j];
      if (id >= 0 && t.count(id)) hits += 1;
    }
  }
  return hits / (static_cast<double>(nq) * k);
}

}  // namespace engram::bench
