#include "api/src/value_cache.h"

#include <algorithm>

namespace engram::detail {

void ValueCache::put(std::uint64_t id, const float* value) {
  auto it = row_of_.find(id);
  std::size_t row;
  if (it != row_of_.end()) {
    row = it->second;
  } else if (!free_rows_.empty()) {
    row = free_rows_.back();
    free_rows_.pop_back();
    row_of_.emplace(id, row);
  } else {
    row = rows_.size() / dim_;
    rows_.resize(rows_.size() + dim_);
    row_of_.emplace(id, row);
  }
  std::copy(value, value + dim_, rows_.begin() + static_cast<std::ptrdiff_t>(row * dim_));
}

void ValueCache::put_if_absent(std::uint64_t id, const float* value) {
  if (row_of_.count(id) == 0) put(id, value);
}

void ValueCache::erase(std::uint64_t id) {
  auto it = row_of_.find(id);
  if (it == row_of_.end()) return;
  free_rows_.push_back(it->second);
  row_of_.erase(it);
}

const float* ValueCache::find(std::uint64_t id) const {
  auto it = row_of_.find(id);
  return it == row_of_.end() ? nullptr : rows_.data() + it->second * dim_;
}

void ValueCache::reserve(std::size_t n) {
  rows_.reserve(n * dim_);
  row_of_.reserve(n);
}

void ValueCache::clear() {
  rows_.clear();
  free_rows_.clear();
  row_of_.clear();
}

}  // namespace engram::detail
