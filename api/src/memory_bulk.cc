// Bulk loads on the core side: a chunk written as SST files is ingested (one atomic
// IngestExternalFiles with its op-log record and the state record) and indexed, under the same
// writer mutex as insert(), so op-log order = commit order = apply order still holds.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "api/src/memory_core.h"
#include "engram/error.h"
#include "storage/bulk_writer.h"

namespace engram::detail {

std::uint64_t MemoryCore::next_slot_id() const {
  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  return state_.next_id;
}

SlotId MemoryCore::bulk_commit(std::unique_ptr<storage::BulkChunk> files, std::size_t n,
                               const float* keys, const float* values,
                               const std::vector<std::pair<std::string, std::string>>& meta,
                               const ChunkRebuild& rebuild) {
  if (n == 0 || files->count() != n) {
    throw Error(ErrorCode::kInternal, "bulk chunk holds " + std::to_string(files->count()) +
                                          " slots, expected " + std::to_string(n));
  }
  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  // Ids are predicted when the files are written; another writer may have taken them since.
  if (files->first_id() != state_.next_id) files = rebuild(state_.next_id);

  // An ingested file outlives a crash on its own; earlier un-synced WAL writes might not. Sync
  // them first so the ingested state record never counts slots the store then loses.
  store_->sync_wal();
  Change c;
  c.added.resize(n);
  for (std::size_t i = 0; i < n; ++i) c.added[i] = state_.next_id + i;
  c.added_keys = keys;
  const std::size_t dv = static_cast<std::size_t>(config_.value_dim);
  if (config_.cache_values) {
    c.cached.reserve(n);
    for (std::size_t i = 0; i < n; ++i) c.cached.emplace_back(c.added[i], values + i * dv);
  }
  c.created = c.added;
  c.slot_delta = static_cast<std::int64_t>(n);
  c.ids_used = n;
  // The chunk's payloads reach the payload index after the files are in: the dirty marker goes
  // in with them, so a crash between the two rebuilds the index at the next open.
  std::vector<std::pair<std::string, std::string>> records = meta;
  if (!payload_index_.empty()) records.emplace_back(payload_index_dirty_key(), "");
  commit_locked(c, [&](const Change& ch) { storage::ingest_chunk(*store_, *files, ch.ops.front(), ch.next, records); },
                /*overlap=*/true);
  if (!payload_index_.empty()) index_new_payloads_locked(c.added.front(), n);
  return c.added.front();
}

void MemoryCore::bulk_reserve(std::size_t rows) {
  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  if (!config_.cache_values || rows == 0) return;
  std::unique_lock<RwLock> lock(index_mu_);
  cache_.reserve(cache_.size() + rows);
}

void MemoryCore::bulk_train(std::size_t n, const float* sample) {
  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  {
    std::shared_lock<RwLock> r(index_mu_);
    if (index_->is_trained()) return;
  }
  auto fresh = index::VectorIndex::create(
      index::index_spec_of(config_));
  if (fresh->is_trained()) return;
  fresh->train(n, sample);  // throws kFailedPrecondition below min_train_points()
  // The index must hold every stored key (the store is the truth); add those there are now.
  const std::size_t dk = static_cast<std::size_t>(config_.key_dim);
  std::vector<float> keys;
  std::vector<SlotId> ids;
  auto flush = [&] {
    if (!ids.empty()) fresh->add(ids.size(), keys.data(), ids.data());
    keys.clear();
    ids.clear();
  };
  store_->scan_keys(entry_.id, [&](std::uint64_t id, const float* k, std::size_t d) {
    if (d != dk) throw Error(ErrorCode::kCorruption, "slot " + std::to_string(id) + " has a key of the wrong size");
    ids.push_back(id);
    keys.insert(keys.end(), k, k + d);
    if (ids.size() == 65536) flush();
  });
  flush();
  spdlog::info("memory '{}': trained index '{}' on a sample of {} keys", entry_.name, config_.index, n);
  std::unique_lock<RwLock> lock(index_mu_);
  index_ = std::move(fresh);
}

void MemoryCore::bulk_undo(const std::vector<std::pair<SlotId, SlotId>>& ranges,
                           const std::string& job) {
  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  std::vector<SlotId> ids;
  store_->scan_ids(entry_.id, [&](std::uint64_t id) {
    for (const auto& [b, e] : ranges) {
      if (id >= b && id < e) {
        ids.push_back(id);
        return;
      }
    }
  });
  Change c;
  c.removed = ids;
  c.uncached = ids;
  c.slot_delta = -static_cast<std::int64_t>(ids.size());
  c.reversible = false;  // an undo is not undone: if the index refuses it, it is rebuilt
  if (!payload_index_.empty()) {
    // The payloads go in one batch and their entries are rebuilt after it: marked until then.
    storage::SlotBatch mark = store_->new_batch(entry_.id);
    mark.put_meta(payload_index_dirty_key(), "");
    store_->commit(mark, /*sync=*/true);
  }
  commit_locked(c, [&](const Change& ch) {
    storage::erase_id_ranges(*store_, entry_.id, ranges, ch.ops, ch.next, job);
  });
  if (!payload_index_.empty()) build_payload_index_locked(payload_index_.fields(), /*all=*/true);
  std::size_t tombstones;
  bool trained;
  {
    std::shared_lock<RwLock> r(index_mu_);
    tombstones = index_->tombstones();
    trained = index_->is_trained();
  }
  if (tombstones == 0) return;
  // HNSW cannot remove: an undone load would leave the graph mostly tombstones, which searches
  // cannot get past. Rebuild it from the store now, as compact() does.
  auto fresh = build_index_from_store(trained);
  {
    std::unique_lock<RwLock> lock(index_mu_);
    index_ = std::move(fresh);
  }
  write_checkpoint_locked();
}

}  // namespace engram::detail
