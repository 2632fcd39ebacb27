// api/src/delta_sorted.h — a sorted set that takes writes in any order and reads in order.
//
// The payload index keeps, per field value, the ids of the slots that hold it (and, per numeric
// field, (number, id) pairs). Inserts are mostly appends (new slots get growing ids), which go
// straight to the end of one sorted vector; anything else (a replaced payload, an erase) waits
// in small ordered pending sets until they outgrow a fraction of the vector, when one linear
// merge folds them in. So a write costs O(log pending) and a read walks one vector plus the
// pending additions, skipping the pending removals.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <set>
#include <vector>

namespace engram::detail {

template <typename T>
class DeltaSorted {
 public:
  void insert(const T& v) {
    if (!pending_ && (main_.empty() || main_.back() < v)) {
      main_.push_back(v);
      return;
    }
    Pending& p = pending();
    if (p.removed.erase(v) == 0) p.added.insert(v);
    maybe_merge();
  }

  void erase(const T& v) {
    if (!pending_ && !main_.empty() && main_.back() == v) {
      main_.pop_back();
      return;
    }
    Pending& p = pending();
    if (p.added.erase(v) == 0) p.removed.insert(v);
    maybe_merge();
  }

  bool empty() const { return main_.empty() && !pending_; }
  // Elements held (exact when nothing is pending; an upper bound otherwise).
  std::size_t size_bound() const { return main_.size() + (pending_ ? pending_->added.size() : 0); }

  // Calls fn(v) for every element v with lo <= v < hi (in order within the vector and within
  // the pending additions, not across them).
  template <typename Fn>
  void for_each_in(const T& lo, const T& hi, Fn fn) const {
    auto it = std::lower_bound(main_.begin(), main_.end(), lo);
    const auto end = std::lower_bound(it, main_.end(), hi);
    if (!pending_ || pending_->removed.empty()) {
      for (; it != end; ++it) fn(*it);
    } else {
      for (; it != end; ++it)
        if (!pending_->removed.count(*it)) fn(*it);
    }
    if (pending_)
      for (auto a = pending_->added.lower_bound(lo); a != pending_->added.end() && *a < hi; ++a) fn(*a);
  }
  template <typename Fn>
  void for_each(Fn fn) const {
    for (auto it = main_.begin(); it != main_.end(); ++it)
      if (!pending_ || pending_->removed.empty() || !pending_->removed.count(*it)) fn(*it);
    if (pending_)
      for (const T& a : pending_->added) fn(a);
  }

 private:
  struct Pending {
    std::set<T> added, removed;
  };
  Pending& pending() {
    if (!pending_) pending_ = std::make_unique<Pending>();
    return *pending_;
  }
  void maybe_merge() {
    const std::size_t n = pending_->added.size() + pending_->removed.size();
    if (n * 16 < main_.size() && n < 65536) return;  // merging costs O(main): amortize it
    std::vector<T> merged;
    merged.reserve(main_.size() + pending_->added.size());
    auto a = pending_->added.begin();
    for (const T& v : main_) {
      for (; a != pending_->added.end() && *a < v; ++a) merged.push_back(*a);
      if (!pending_->removed.count(v)) merged.push_back(v);
    }
    for (; a != pending_->added.end(); ++a) merged.push_back(*a);
    main_.swap(merged);
    pending_.reset();
  }

  std::vector<T> main_;
  std::unique_ptr<Pending> pending_;
};

}  // namespace engram::detail
