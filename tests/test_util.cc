#include "tests/test_util.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

namespace engram::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "engram-test-XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  if (!made) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<float> random_matrix(std::size_t n, std::size_t dim, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> m(n * dim);
  for (auto& x : m) x = normal(rng);
  return m;
}

std::vector<float> clustered_matrix(std::size_t n, std::size_t dim, std::size_t clusters,
                                    std::uint32_t seed) {
  const std::vector<float> centres = random_matrix(clusters, dim, seed ^ 0x9e3779b9u);
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  std::uniform_int_distribution<std::size_t> pick(0, clusters - 1);
  std::vector<float> m(n * dim);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = pick(rng);
    double norm = 0;
    for (std::size_t d = 0; d < dim; ++d) {
      m[i * dim + d] = centres[c * dim + d] + noise(rng);
      norm += double(m[i * dim + d]) * m[i * dim + d];
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (std::size_t d = 0; d < dim; ++d) m[i * dim + d] *= inv;
  }
  return m;
}

MemoryConfig make_config(int key_dim, int value_dim, const std::string& index, Metric metric) {
  MemoryConfig c;
  c.key_dim = key_dim;
  c.value_dim = value_dim;
  c.index = index;
  c.metric = metric;
  c.sync = false;  // tests that need sync ask for it per call
  return c;
}

std::vector<Slot> all_slots(Memory& memory) { return memory.get(memory.list_ids()); }

}  // namespace engram::testing
