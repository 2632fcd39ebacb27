// api/src/value_cache.h — a RAM copy of a memory's values, so read() does no store lookups.
//
// The store stays the source of truth: the cache is filled from it at open and updated after
// every commit, under the memory's exclusive index lock. Freed rows are reused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace engram::detail {

class ValueCache {
 public:
  explicit ValueCache(std::size_t dim) : dim_(dim) {}

  void put(std::uint64_t id, const float* value);  // insert or overwrite
  void put_if_absent(std::uint64_t id, const float* value);
  void erase(std::uint64_t id);
  // nullptr when absent. Valid until the next put/erase.
  const float* find(std::uint64_t id) const;
  std::size_t size() const { return row_of_.size(); }
  void reserve(std::size_t n);
  void clear();

 private:
  std::size_t dim_;
  std::vector<float> rows_;
  std::vector<std::size_t> free_rows_;
  std::unordered_map<std::uint64_t, std::size_t> row_of_;
};

}  // namespace engram::detail
