// The one way a change reaches a memory (as LevelDB's DBImpl::Write is for its writes).
//
// Insert, the gated write, update, erase, a bulk chunk and a bulk undo each describe what they
// do as a Change and hand it to commit_locked(), which
//   1. logs the change's index ops and the memory's next state with the change's records, in
//      one atomic store write (a WriteBatch, or an SST ingestion for bulk chunks);
//   2. applies the change to the index and the value cache under the exclusive index lock;
//   3. if step 2 fails (FAISS throws, memory runs out), writes the inverse change to the store,
//      rebuilds the index from the store (the truth), and rethrows: the request that failed
//      changed nothing, and no slot is left stored but not indexed;
//   4. counts the change toward the next automatic checkpoint.
#include <spdlog/spdlog.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "api/src/memory_core.h"
#include "engram/error.h"

namespace engram::detail {
namespace {

std::atomic<bool> fail_index_apply{false};

// The ops a change logs, in replay order: removals before additions (a re-keyed slot leaves the
// index with its old key and comes back with its new one).
std::vector<storage::IndexOp> plan_ops(const std::vector<SlotId>& removed,
                                       const std::vector<SlotId>& added, std::uint64_t seq) {
  std::vector<storage::IndexOp> ops;
  if (!removed.empty()) ops.push_back({++seq, storage::IndexOp::kRemove, removed});
  if (!added.empty()) ops.push_back({++seq, storage::IndexOp::kAdd, added});
  return ops;
}

}  // namespace

void fail_index_apply_for_testing(bool on) { fail_index_apply.store(on); }

MemoryCore::StoreWrite MemoryCore::batch_write(storage::SlotBatch& batch, bool sync) {
  return [this, &batch, sync](const Change& c) {
    for (const storage::IndexOp& op : c.ops) batch.log_index_op(op);
    if (!c.ops.empty() || c.slot_delta != 0 || c.ids_used != 0) batch.set_state(c.next);  // a gated write changes none
    store_->commit(batch, sync);
  };
}

void MemoryCore::commit_locked(Change& c, const StoreWrite& store_write, bool overlap) {
  check_open();
  c.ops = plan_ops(c.removed, c.added, state_.op_seq);
  c.next = state_;
  c.next.op_seq += c.ops.size();
  c.next.next_id += c.ids_used;
  c.next.slots = static_cast<std::uint64_t>(static_cast<std::int64_t>(state_.slots) + c.slot_delta);

  std::unique_lock<RwLock> lock(index_mu_, std::defer_lock);
  bool trained;
  {
    std::shared_lock<RwLock> r(index_mu_);
    trained = index_->is_trained();
  }
  if (overlap && trained && c.removed.empty()) {
    // The ingestion (mostly waiting for the disk) and the indexing (CPU) overlap. The index lock
    // is held exclusively from before the first id is added until the ingestion has succeeded,
    // so no reader sees an id the store does not hold.
    lock.lock();
    std::exception_ptr write_error;
    std::thread io([&] {
      try {
        store_write(c);
      } catch (...) {
        write_error = std::current_exception();
      }
    });
    std::exception_ptr apply_error;
    const storage::MemoryState before = state_;
    try {
      apply_locked(c);
    } catch (...) {
      apply_error = std::current_exception();
    }
    io.join();
    if (write_error) {
      // The store never held the change: take it out of the index and the cache again.
      state_ = before;
      for (SlotId id : c.added) cache_.erase(id);
      try {
        const std::size_t tombstones = index_->tombstones();
        index_->remove(c.added);
        // An index that cannot remove (HNSW) only marks them dead: a graph of mostly dead nodes
        // is one searches cannot get past, so it is rebuilt from the store instead.
        if (index_->tombstones() > tombstones) index_ = build_index_from_store(trained);
      } catch (const std::exception& e) {
        spdlog::error("memory '{}': rebuilding the index after a failed store write failed too ({})",
                      entry_.name, e.what());
      }
      std::rethrow_exception(write_error);
    }
    if (apply_error) {
      undo_locked(c);
      std::rethrow_exception(apply_error);
    }
  } else {
    // A change that takes slots out of the index holds the index lock across its store write:
    // else a search between the two finds in the index a slot whose records are gone (an
    // erased slot with no payload). Readers wait for that write; a change that only adds
    // (the bulk of ingestion) writes first, as its new ids are invisible until applied.
    if (!c.removed.empty()) lock.lock();
    store_write(c);
    if (!lock.owns_lock()) lock.lock();
    try {
      apply_locked(c);
    } catch (...) {
      const std::exception_ptr error = std::current_exception();
      undo_locked(c);
      if (c.reversible) std::rethrow_exception(error);
    }
  }
  lock.unlock();
  note_changes_locked(c.added.size() + c.removed.size());
}

void MemoryCore::apply_locked(const Change& c) {
  state_ = c.next;
  forget_matches_locked();
  // A fault-injection point for the tests of step 3 (a real index rarely fails on demand): one
  // relaxed atomic load on the write path.
  if (fail_index_apply.load(std::memory_order_relaxed) && !(c.added.empty() && c.removed.empty()))
    throw Error(ErrorCode::kInternal, "injected failure (fail_index_apply_for_testing)");
  if (!c.removed.empty() && index_->is_trained()) index_->remove(c.removed);
  if (!c.added.empty()) index_add_locked(c.added.size(), c.added_keys, c.added.data());
  if (config_.cache_values) {
    for (SlotId id : c.uncached) cache_.erase(id);
    for (const auto& [id, value] : c.cached) cache_.put(id, value);
  }
  for (const Change::IndexEntry& e : c.index_entries) {
    if (e.add) payload_index_.insert(e.field, e.value, e.slot);
    else payload_index_.erase(e.field, e.value, e.slot);
  }
  if (live_built_.load()) {
    auto set = [&](SlotId id, bool on) {
      if (id / 64 >= live_.size()) live_.resize(id / 64 + 1, 0);
      if (on) live_[id / 64] |= std::uint64_t{1} << (id % 64);
      else live_[id / 64] &= ~(std::uint64_t{1} << (id % 64));
    };
    // Erased: removed and not added back (a re-keyed slot is both).
    if (c.added.empty()) {
      for (SlotId id : c.removed) set(id, false);
    } else if (!c.removed.empty()) {
      const std::unordered_set<SlotId> back(c.added.begin(), c.added.end());
      for (SlotId id : c.removed)
        if (!back.count(id)) set(id, false);
    }
    for (SlotId id : c.created) set(id, true);
  }
}

void MemoryCore::undo_locked(const Change& c) {
  // The cache may hold part of the change: drop every id it touched, the store answers for them.
  for (SlotId id : c.created) cache_.erase(id);
  for (const SlotPatch& p : c.before) cache_.erase(p.id);
  for (const auto& [id, value] : c.cached) cache_.erase(id);
  if (config_.cache_values) cache_complete_ = false;
  if (c.reversible) {
    // The inverse change: created slots erased, overwritten parts written back, the index ops
    // mirrored so that replaying the log from any checkpoint gives the same key set.
    storage::SlotBatch batch = store_->new_batch(entry_.id);
    const std::size_t key_bytes = static_cast<std::size_t>(config_.key_dim) * sizeof(float);
    const std::size_t value_bytes = static_cast<std::size_t>(config_.value_dim) * sizeof(float);
    for (SlotId id : c.created) batch.erase_slot(id);
    for (const auto& [id, external] : c.externals_added) batch.erase_external_id(id, external);
    for (const auto& [id, external] : c.externals_removed) batch.put_external_id(id, external);
    for (const Change::IndexEntry& e : c.index_entries) {
      const std::string k = storage::index_entry_key(entry_.id, payload_index_.fields()[e.field], e.value, e.slot);
      if (e.add) batch.erase_index_entry(k);
      else batch.put_index_entry(k);
    }
    for (const SlotPatch& p : c.before) {
      if (p.key) batch.put_key(p.id, p.key->data(), key_bytes);
      if (p.value) batch.put_value(p.id, p.value->data(), value_bytes);
      if (p.payload) batch.put_payload(p.id, *p.payload);
    }
    storage::MemoryState undone = c.next;
    undone.slots = static_cast<std::uint64_t>(static_cast<std::int64_t>(c.next.slots) - c.slot_delta);
    const auto inverse = plan_ops(c.added, c.removed, c.next.op_seq);
    undone.op_seq += inverse.size();
    for (const storage::IndexOp& op : inverse) batch.log_index_op(op);
    batch.set_state(undone);
    try {
      store_->commit(batch, /*sync=*/true);
      state_ = undone;
    } catch (const std::exception& e) {
      // The change stays in the store; the index below is rebuilt to match it.
      spdlog::error("memory '{}': undoing a change the index refused failed too ({}); keeping it",
                    entry_.name, e.what());
    }
  }
  const bool trained = index_->is_trained();
  index_.reset();  // free what the failed apply held before building the replacement
  index_ = build_index_from_store(trained);
  live_built_ = false;  // built again from the store when next needed
  forget_matches_locked();
  // The RAM payload index may hold part of the change too: read it back from the store.
  if (!payload_index_.empty()) payload_index_ = load_payload_index(payload_index_.fields());
}

std::vector<SlotPatch> MemoryCore::read_before(const std::vector<SlotId>& ids, bool keys,
                                               bool values, bool payloads) const {
  const std::size_t dk = static_cast<std::size_t>(config_.key_dim);
  const std::size_t dv = static_cast<std::size_t>(config_.value_dim);
  std::vector<float> k(ids.size() * dk), v;
  std::vector<bool> found, have_value;
  store_->multi_get_keys(entry_.id, ids, k.data(), dk, &found);  // also proves each slot exists
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!found[i])
      throw Error(ErrorCode::kNotFound, "slot " + std::to_string(ids[i]) + " not found in memory '" + entry_.name + "'");
  }
  if (values) {
    v.resize(ids.size() * dv);
    store_->multi_get_values(entry_.id, ids, v.data(), dv, &have_value);
  }
  std::vector<std::string> p;
  if (payloads) p = store_->multi_get_payloads(entry_.id, ids);
  std::vector<SlotPatch> out(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    out[i].id = ids[i];
    if (keys) out[i].key.emplace(k.begin() + static_cast<std::ptrdiff_t>(i * dk), k.begin() + static_cast<std::ptrdiff_t>((i + 1) * dk));
    if (values) out[i].value.emplace(v.begin() + static_cast<std::ptrdiff_t>(i * dv), v.begin() + static_cast<std::ptrdiff_t>((i + 1) * dv));
    if (payloads) out[i].payload = p[i];
  }
  return out;
}

}  // namespace engram::detail
