// Filtered searches: which slots a filter accepts, and how to search among them (the planner).
//
// A search with a filter runs one of two ways:
//  * in the index, with the accepted ids as a bitmap the index tests inside its search
//    (IDSelector in FAISS's flat and IVF scans, a filtered walk of HNSW graphs), so k results
//    come back whenever k slots match;
//  * as an exact scan of the accepted slots' keys, when the filter accepts few slots — a graph
//    walk grows as the filter narrows (at least k / selectivity nodes) while the scan shrinks, so
//    recall does not collapse there — or when the index cannot apply a filter (PQ codes), or
//    when it is itself an exact scan (Flat). "Few": at most DatabaseOptions::filter_exact_scan_max;
//    or, for a graph (whose filtered walk grows as the filter narrows), while count² < 1024 ×
//    the memory's size — where the scan of count keys costs less than a walk of about
//    k / selectivity nodes (at 1M slots: under 3.2 %; engram-bench filter measures both sides);
//    else (an IVF scans the same lists whatever the filter) under 0.5 % of the memory, or for
//    a batch of 16 queries or more (which share the gather of the keys) under 20 %.
//    The scan reads the keys from the index where it holds them exactly (Flat, HNSW, IVF…,Flat),
//    else from the store.
#include <algorithm>
#include <limits>
#include <memory>

#include "api/src/filter_node.h"
#include "api/src/memory_core.h"
#include "engram/error.h"
#include "index/exact_search.h"

namespace engram::detail {
namespace {

// Every id a has_id condition of `node` names.
void named_ids(const Filter::Node& node, std::vector<SlotId>* out) {
  if (node.kind == Filter::Node::kHasId) out->insert(out->end(), node.ids.begin(), node.ids.end());
  for (const auto* list : {&node.must, &node.should, &node.must_not})
    for (const Filter::Node& c : *list) named_ids(c, out);
}

// Whether any condition of `node` looks at payload fields (has_id alone does not).
bool reads_payloads(const Filter::Node& node) {
  if (node.kind != Filter::Node::kBool) return node.kind != Filter::Node::kHasId;
  for (const auto* list : {&node.must, &node.should, &node.must_not})
    for (const Filter::Node& c : *list)
      if (reads_payloads(c)) return true;
  return false;
}

}  // namespace

std::shared_ptr<const MemoryCore::Match> MemoryCore::match_locked(const Filter& filter) const {
  constexpr std::size_t kCached = 8;
  {
    std::lock_guard<std::mutex> l(match_cache_mu_);
    if (match_cache_version_ != match_version_) {
      match_cache_.clear();
      match_cache_version_ = match_version_;
    }
    for (std::size_t i = 0; i < match_cache_.size(); ++i) {
      if (match_cache_[i].first != filter.json()) continue;
      std::rotate(match_cache_.begin() + static_cast<std::ptrdiff_t>(i), match_cache_.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                  match_cache_.end());
      return match_cache_.back().second;
    }
  }
  const Filter::Node& root = *filter.node();
  const SlotId bound = state_.next_id;  // later ids are not in the index yet
  // A filter over indexed fields (and ids) is decided by the payload index, without a payload read.
  std::optional<index::IdFilter> bits = payload_index_.match(root, bound);
  if (!bits) {
    // A slot with no payload is accepted or not by its id alone, and only has_id tells ids
    // apart: one evaluation decides every slot that has_id does not name.
    bits.emplace(bound, detail::evaluate(root, kNoSlot, nlohmann::json(nlohmann::json::value_t::discarded)));
    scan_match(root, bound, &*bits);
  }
  bits->intersect(live_locked());  // erased and never-used ids out
  auto m = std::make_shared<Match>(Match{std::move(*bits), 0});
  m->count = m->ids.count();
  std::lock_guard<std::mutex> l(match_cache_mu_);
  if (match_cache_version_ == match_version_) {  // else a change came between: not worth keeping
    if (match_cache_.size() == kCached) match_cache_.erase(match_cache_.begin());
    match_cache_.emplace_back(filter.json(), m);
  }
  return m;
}

const std::vector<std::uint64_t>& MemoryCore::live_locked() const {
  if (live_built_.load()) return live_;
  std::lock_guard<std::mutex> l(live_mu_);
  if (!live_built_.load()) {
    live_.assign(static_cast<std::size_t>((state_.next_id + 63) / 64), 0);
    store_->scan_ids(entry_.id, [&](std::uint64_t id) {
      if (id / 64 >= live_.size()) live_.resize(id / 64 + 1, 0);
      live_[id / 64] |= std::uint64_t{1} << (id % 64);
    });
    live_built_ = true;
  }
  return live_;
}

void MemoryCore::scan_match(const Filter::Node& root, SlotId bound, index::IdFilter* ids) const {
  const nlohmann::json no_fields(nlohmann::json::value_t::discarded);
  std::vector<SlotId> named;
  named_ids(root, &named);
  std::sort(named.begin(), named.end());
  named.erase(std::unique(named.begin(), named.end()), named.end());
  for (SlotId id : named) ids->set(id, detail::evaluate(root, id, no_fields));  // if it has no payload
  // Every payload decides its own slot (a scan of the payloads: a field is not indexed); a
  // filter of has_id conditions only is decided by ids alone.
  if (reads_payloads(root)) {
    store_->scan_payloads(entry_.id, [&](std::uint64_t id, const std::string& payload) {
      if (id < bound) ids->set(id, detail::evaluate(root, id, detail::payload_fields(payload)));
    });
  }
}

std::vector<SlotId> MemoryCore::accepted_ids(const Match& m) {
  std::vector<SlotId> ids;
  ids.reserve(m.count);
  m.ids.for_each([&](std::uint64_t id) { ids.push_back(id); });
  return ids;
}

void MemoryCore::exact_search_locked(const MatrixView& q, int k, const std::vector<SlotId>& ids,
                                     std::vector<float>* scores, std::vector<SlotId>* out) const {
  const std::size_t d = static_cast<std::size_t>(config_.key_dim), total = q.rows * static_cast<std::size_t>(k);
  // The accepted keys are gathered and scanned a part at a time, each part's results folded into
  // the running top-k: a buffer of a few MiB is reused by malloc from call to call, while one for
  // every accepted key (51 MB for 100k keys of 128-d) is mapped afresh each time, and its page
  // faults cost several times the scan (150 ms against 20 ms at 10 % of 1M slots).
  constexpr std::size_t kPartBytes = 2 << 20;
  const std::size_t part = std::max<std::size_t>(1, kPartBytes / (d * sizeof(float)));
  // Uninitialised: every row is written (or dropped below) before it is read.
  const std::unique_ptr<float[]> keys(new float[std::min(part, ids.size()) * d]);
  std::vector<SlotId> live;
  std::vector<float> part_scores(total);
  std::vector<SlotId> part_out(total);
  std::vector<bool> found;
  scores->assign(total, -std::numeric_limits<float>::infinity());
  out->assign(total, kNoSlot);
  for (std::size_t start = 0; start < ids.size(); start += part) {
    const SlotId* part_ids = ids.data() + start;
    const std::size_t n = std::min(part, ids.size() - start);
    // Keys come from the index when it holds them exactly (a copy from RAM), else from the store.
    if (!index_->reconstruct(n, part_ids, keys.get(), &found))
      store_->multi_get_keys(entry_.id, std::vector<SlotId>(part_ids, part_ids + n), keys.get(), d, &found);
    // Slots erased since the filter was matched (or not live at all) drop out.
    const SlotId* scanned = part_ids;
    std::size_t scanned_n = n;
    if (std::find(found.begin(), found.end(), false) != found.end()) {
      live.clear();
      for (std::size_t i = 0; i < n; ++i) {
        if (!found[i]) continue;
        if (live.size() != i) std::copy_n(keys.get() + i * d, d, keys.get() + live.size() * d);
        live.push_back(part_ids[i]);
      }
      scanned = live.data();
      scanned_n = live.size();
    }
    index::exact_knn(config_.metric, d, q.rows, q.data, scanned_n, keys.get(), scanned, k, part_scores.data(),
                     part_out.data());
    index::merge_topk(q.rows, k, scores->data(), out->data(), part_scores.data(), part_out.data());
  }
}

void MemoryCore::filtered_search_locked(const MatrixView& q, int k, std::vector<float>* scores,
                                        std::vector<SlotId>* ids, const index::SearchTuning& tuning,
                                        const Filter& filter) const {
  const std::shared_ptr<const Match> matched = match_locked(filter);
  const Match& m = *matched;
  const bool few = m.count <= options_.filter_exact_scan_max && options_.filter_exact_scan_max > 0;
  const double count = static_cast<double>(m.count), size = static_cast<double>(index_->size());
  // An index that scans lists (IVF) costs the same per query whatever the filter; the exact scan
  // costs a gather of the accepted keys once, then a little per query: for a batch it wins up to
  // a larger share. Measured at 1M slots, 128-d, batches of 100: 10 % accepted, 41 ms exact
  // against 92 ms in an IVF1024,Flat (nprobe 16); 1 %, 4.4 against 59 ms; 50 %, 205 against
  // 124 ms; for one query 10 % is 13 against 1.9 ms (engram-bench filter).
  constexpr std::size_t kBatch = 16;
  const bool rare = options_.filter_exact_scan_max > 0 &&
                    (index_->walks_graph() ? count * count < 1024.0 * size
                                           : count * 200 < size || (q.rows >= kBatch && count * 5 < size));
  // Nothing accepted: no walk of a graph that can never fill its result list. An exhaustive
  // index (Flat) scans fewer keys, with one matrix product, as an exact scan of the accepted ones.
  if (!index_->can_filter() || index_->exhaustive() || few || rare || m.count == 0) {
    exact_search_locked(q, k, accepted_ids(m), scores, ids);
    return;
  }
  index::SearchTuning filtered = tuning;
  filtered.filter = &m.ids;
  filtered.filter_share = count / std::max(size, 1.0);
  scores->resize(q.rows * static_cast<std::size_t>(k));
  ids->resize(q.rows * static_cast<std::size_t>(k));
  index_->search(q.rows, q.data, k, scores->data(), ids->data(), filtered);
}

}  // namespace engram::detail
