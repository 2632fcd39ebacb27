// tests/test_util.h — temporary folders and seeded data for the core tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engram/engram.h"

namespace engram::testing {

// A fresh folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// n × dim standard-normal floats from `seed`.
std::vector<float> random_matrix(std::size_t n, std::size_t dim, std::uint32_t seed);

// n × dim points around `clusters` centres, L2-normalised rows: data that IVF and HNSW index well.
std::vector<float> clustered_matrix(std::size_t n, std::size_t dim, std::size_t clusters,
                                    std::uint32_t seed);

MemoryConfig make_config(int key_dim, int value_dim, const std::string& index = "Flat",
                         Metric metric = Metric::kInnerProduct);

// Every slot of `memory` (ids, keys, values, payloads), in id order.
std::vector<Slot> all_slots(Memory& memory);

}  // namespace engram::testing
