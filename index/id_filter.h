// index/id_filter.h — the slot ids a filtered search may return, as a bitmap.
//
// Slot ids are dense (assigned in order from 0), so a bitmap over [0, next id) is both the
// smallest and the fastest set a search can test once per candidate: one shift and one load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace engram::index {

class IdFilter {
 public:
  // Ids below `bound` start as `initial`; ids at or above it are never accepted.
  IdFilter(std::uint64_t bound, bool initial)
      : bound_(bound), words_((bound + 63) / 64, initial ? ~std::uint64_t{0} : 0) {}

  bool contains(std::uint64_t id) const {
    return id < bound_ && ((words_[id >> 6] >> (id & 63)) & 1u);
  }
  void set(std::uint64_t id, bool on) {
    if (id >= bound_) return;
    if (on) words_[id >> 6] |= std::uint64_t{1} << (id & 63);
    else words_[id >> 6] &= ~(std::uint64_t{1} << (id & 63));
  }
  std::uint64_t bound() const { return bound_; }
  // Set algebra with a filter of the same bound (the payload index combines conditions so).
  void intersect(const IdFilter& o) {
    for (std::size_t w = 0; w < words_.size(); ++w) words_[w] &= o.words_[w];
  }
  void unite(const IdFilter& o) {
    for (std::size_t w = 0; w < words_.size(); ++w) words_[w] |= o.words_[w];
  }
  // Keeps the ids whose bit is set in `words` (bit id % 64 of word id / 64; missing words: 0).
  void intersect(const std::vector<std::uint64_t>& words) {
    for (std::size_t w = 0; w < words_.size(); ++w) words_[w] &= w < words.size() ? words[w] : 0;
  }
  void subtract(const IdFilter& o) {
    for (std::size_t w = 0; w < words_.size(); ++w) words_[w] &= ~o.words_[w];
  }
  // Calls fn(id) for every accepted id, ascending.
  template <typename Fn>
  void for_each(Fn fn) const {
    for (std::size_t w = 0; w < words_.size(); ++w) {
      for (std::uint64_t bits = words_[w]; bits; bits &= bits - 1) {
        const std::uint64_t id = w * 64 + static_cast<std::uint64_t>(__builtin_ctzll(bits));
        if (id < bound_) fn(id);
      }
    }
  }
  // How many ids are accepted.
  std::size_t count() const {
    std::size_t n = 0;
    for (std::size_t w = 0; w < words_.size(); ++w) {
      const std::uint64_t bits = w + 1 < words_.size() || bound_ % 64 == 0 ? words_[w] : words_[w] & ((std::uint64_t{1} << (bound_ % 64)) - 1);
      n += static_cast<std::size_t>(__builtin_popcountll(bits));
    }
    return n;
  }

 private:
  std::uint64_t bound_;
  std::vector<std::uint64_t> words_;
};

}  // namespace engram::index
