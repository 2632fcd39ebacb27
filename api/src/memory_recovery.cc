// The recovery path and index maintenance: open (checkpoint + op-log catch-up, or a full
// rebuild), checkpoint, train, compact, close. See docs/durability.md.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "api/src/memory_core.h"
#include "engram/error.h"
#include "index/index_file.h"

namespace engram::detail {
namespace {

index::IndexSpec spec_of(const MemoryConfig& c) {
  return index::index_spec_of(c);
}

constexpr std::size_t kRebuildChunk = 65536;

}  // namespace

std::shared_ptr<MemoryCore> MemoryCore::open(storage::SlotStore* store,
                                             const storage::CatalogEntry& entry,
                                             const MemoryConfig& config,
                                             const std::string& index_path,
                                             const DatabaseOptions& options) {
  std::shared_ptr<MemoryCore> core(new MemoryCore(store, entry, config, index_path, options));
  std::lock_guard<std::mutex> w(core->write_mu_);
  core->state_ = store->load_state(entry.id);
  if (!core->load_checkpoint()) {
    core->index_ = core->build_index_from_store(false);
    try {
      if (core->state_.op_seq > 0 && !options.read_only) core->write_checkpoint_locked();
    } catch (const Error& e) {
      // A full disk or a read-only store: the memory is usable, the next open rebuilds again.
      spdlog::warn("memory '{}': cannot write the rebuilt index's checkpoint ({})", entry.name, e.what());
    }
  }
  core->open_payload_index();
  return core;
}

bool MemoryCore::load_checkpoint() {
  const std::string& name = entry_.name;
  std::optional<index::MappedCheckpoint> cp;
  try {
    cp = index::read_index_checkpoint(index_path_);
  } catch (const Error& e) {
    spdlog::warn("memory '{}': index checkpoint unusable ({}); rebuilding from the store", name, e.what());
    return false;
  }
  if (!cp) {
    if (state_.op_seq > 0) spdlog::warn("memory '{}': no index checkpoint; rebuilding from the store", name);
    return false;
  }
  const std::uint64_t cp_seq = cp->op_seq();
  if (cp_seq > state_.op_seq) {
    spdlog::warn("memory '{}': index checkpoint is ahead of the store (op {} > {}); rebuilding", name,
                 cp_seq, state_.op_seq);
    return false;
  }
  try {
    index_ = index::VectorIndex::deserialize(spec_of(config_), cp->payload(), cp->payload_size());
    cp.reset();  // unmap now: the index holds its own copy
    std::uint64_t expected = cp_seq + 1;
    const std::size_t dk = static_cast<std::size_t>(config_.key_dim);
    std::vector<float> keys;
    std::vector<bool> found;
    store_->scan_index_ops(entry_.id, cp_seq, [&](const storage::IndexOp& op) {
      if (op.seq != expected) {
        throw Error(ErrorCode::kCorruption, "op log jumps from " + std::to_string(expected - 1) +
                                                " to " + std::to_string(op.seq));
      }
      ++expected;
      if (!index_->is_trained()) return;  // training will index everything in the store
      if (op.kind == storage::IndexOp::kRemove) {
        index_->remove(op.ids);
        return;
      }
      keys.resize(op.ids.size() * dk);
      store_->multi_get_keys(entry_.id, op.ids, keys.data(), dk, &found);
      std::vector<SlotId> live;
      std::vector<float> live_keys;
      for (std::size_t i = 0; i < op.ids.size(); ++i) {
        if (!found[i]) continue;  // erased by a later op
        live.push_back(op.ids[i]);
        live_keys.insert(live_keys.end(), keys.begin() + static_cast<std::ptrdiff_t>(i * dk),
                         keys.begin() + static_cast<std::ptrdiff_t>((i + 1) * dk));
      }
      index_->add(live.size(), live_keys.data(), live.data());
    });
    if (expected - 1 != state_.op_seq) {
      throw Error(ErrorCode::kCorruption, "op log ends at " + std::to_string(expected - 1) +
                                              ", the store is at " + std::to_string(state_.op_seq));
    }
    if (index_->is_trained() && index_->size() != state_.slots) {
      throw Error(ErrorCode::kCorruption, "index holds " + std::to_string(index_->size()) +
                                              " keys, the store " + std::to_string(state_.slots));
    }
    if (expected - 1 > cp_seq) {
      spdlog::info("memory '{}': caught up {} ops past the index checkpoint", name,
                   expected - 1 - cp_seq);
    }
  } catch (const Error& e) {
    spdlog::warn("memory '{}': index checkpoint does not match the store ({}); rebuilding", name,
                 e.what());
    index_.reset();
    return false;
  }
  checkpoint_op_seq_ = cp_seq;
  if (!index_->is_trained() && index_->auto_train_points() <= state_.slots) {
    index_ = build_index_from_store(false);
  }
  return true;
}

std::unique_ptr<index::VectorIndex> MemoryCore::build_index_from_store(bool force_train) const {
  auto idx = index::VectorIndex::create(spec_of(config_));
  const std::size_t dk = static_cast<std::size_t>(config_.key_dim);
  std::vector<float> keys;
  std::vector<SlotId> ids;
  if (!idx->is_trained()) {
    const std::size_t needed = force_train ? idx->min_train_points() : idx->auto_train_points();
    if (state_.slots < std::max<std::size_t>(needed, 1)) return idx;  // waits for more data
    keys.reserve(state_.slots * dk);
    ids.reserve(state_.slots);
    store_->scan_keys(entry_.id, [&](std::uint64_t id, const float* k, std::size_t n) {
      if (n != dk) throw Error(ErrorCode::kCorruption, "slot " + std::to_string(id) + " has a key of the wrong size");
      ids.push_back(id);
      keys.insert(keys.end(), k, k + n);
    });
    idx->train(ids.size(), keys.data());
    idx->add(ids.size(), keys.data(), ids.data());
    spdlog::info("memory '{}': trained index '{}' on {} keys", entry_.name, config_.index, ids.size());
    return idx;
  }
  auto flush = [&] {
    idx->add(ids.size(), keys.data(), ids.data());
    keys.clear();
    ids.clear();
  };
  store_->scan_keys(entry_.id, [&](std::uint64_t id, const float* k, std::size_t n) {
    if (n != dk) throw Error(ErrorCode::kCorruption, "slot " + std::to_string(id) + " has a key of the wrong size");
    ids.push_back(id);
    keys.insert(keys.end(), k, k + n);
    if (ids.size() == kRebuildChunk) flush();
  });
  flush();
  if (state_.slots > 0) spdlog::info("memory '{}': rebuilt index '{}' from {} keys", entry_.name, config_.index, idx->size());
  return idx;
}

MemoryCore::~MemoryCore() { stop_value_cache_loader(); }

void MemoryCore::start_value_cache_loader() const {
  // Called under index_mu_ (shared), so it never waits for the loader: loader_mu_ is held only
  // to start it or to take it away for joining.
  if (!config_.cache_values || loader_started_ || stop_loader_) return;
  std::lock_guard<std::mutex> guard(loader_mu_);
  if (loader_started_ || stop_loader_) return;
  loader_started_ = true;
  cache_loader_ = std::thread([this] {
    struct Stopped {};
    {
      std::unique_lock<RwLock> lock(index_mu_);
      if (index_) cache_.reserve(index_->size());
    }
    const std::size_t dv = static_cast<std::size_t>(config_.value_dim);
    std::vector<SlotId> ids;
    std::vector<float> values;
    // Values a writer put in the cache since the scan began are newer than the scan's: the
    // loader only fills the gaps (put_if_absent). A slot erased meanwhile may be re-added as a
    // dead entry, which no search returns (ids are never reused).
    auto flush = [&] {
      std::unique_lock<RwLock> lock(index_mu_);
      for (std::size_t i = 0; i < ids.size(); ++i) cache_.put_if_absent(ids[i], values.data() + i * dv);
      ids.clear();
      values.clear();
    };
    try {
      store_->scan_values(entry_.id, [&](std::uint64_t id, const float* v, std::size_t n) {
        if (stop_loader_) throw Stopped{};
        if (n != dv) throw Error(ErrorCode::kCorruption, "slot " + std::to_string(id) + " has a value of the wrong size");
        ids.push_back(id);
        values.insert(values.end(), v, v + n);
        if (ids.size() == 4096) flush();
      });
      flush();
      std::unique_lock<RwLock> lock(index_mu_);
      cache_complete_ = true;
    } catch (const Stopped&) {
    } catch (const std::exception& e) {
      // Reads keep falling back to the store, which stays correct, only slower.
      spdlog::error("memory '{}': loading values into RAM failed ({}); reading them from the store",
                    entry_.name, e.what());
    }
  });
}

void MemoryCore::stop_value_cache_loader() {
  stop_loader_ = true;
  std::thread loader;
  {
    std::lock_guard<std::mutex> guard(loader_mu_);
    loader = std::move(cache_loader_);
  }
  if (loader.joinable()) loader.join();
}

void MemoryCore::write_checkpoint_locked() {
  if (options_.read_only) {
    throw Error(ErrorCode::kFailedPrecondition, "memory '" + entry_.name + "': the database was opened read-only");
  }
  // The index must never reflect a change the store could still lose: sync the WAL first.
  store_->sync_wal();
  // The index streams into the file (page cache) under the shared lock: readers go on, and
  // writers are held by write_mu_ (which the caller holds) anyway. The lock is released before
  // the checksum pass and the fsync, so no reader ever waits on the disk.
  const std::uint64_t op_seq = state_.op_seq;
  const auto started = std::chrono::steady_clock::now();
  index::write_index_checkpoint(index_path_, op_seq, [&](index::ByteSink& out) {
    std::shared_lock<RwLock> lock(index_mu_);
    index_->serialize_to(out);
  });
  store_->truncate_index_ops(entry_.id, op_seq);
  checkpoint_op_seq_ = op_seq;
  changed_since_checkpoint_ = 0;
  last_checkpoint_ = std::chrono::steady_clock::now();
  last_checkpoint_seconds_ = std::chrono::duration<double>(last_checkpoint_ - started).count();
}

void MemoryCore::maybe_train_locked() {
  if (index_->is_trained() || state_.slots < std::max<std::size_t>(index_->auto_train_points(), 1)) return;
  index_ = build_index_from_store(false);
}

bool MemoryCore::checkpoint_if_due() {
  std::lock_guard<std::mutex> w(write_mu_);
  if (closed_) return false;
  const std::uint64_t ops = state_.op_seq - checkpoint_op_seq_;
  if (ops == 0) return false;
  const double age = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_checkpoint_).count();
  // A checkpoint holds the writers while the index streams to disk (half a gigabyte for 1M
  // 128-d keys): background ones take at most a tenth of the time, however fast ops arrive.
  if (age < 10 * last_checkpoint_seconds_) return false;
  const bool due = (options_.checkpoint_every_ops > 0 && ops >= options_.checkpoint_every_ops) ||
                   (options_.checkpoint_every_slots > 0 && changed_since_checkpoint_ >= options_.checkpoint_every_slots) ||
                   (options_.checkpoint_interval_s > 0 && age >= options_.checkpoint_interval_s);
  if (!due) return false;
  write_checkpoint_locked();
  return true;
}

void MemoryCore::checkpoint() {
  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  write_checkpoint_locked();
}

void MemoryCore::train() {
  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  {
    std::shared_lock<RwLock> r(index_mu_);
    if (index_->is_trained()) return;
  }
  auto fresh = build_index_from_store(true);  // readers keep using the old index meanwhile
  if (!fresh->is_trained()) {
    throw Error(ErrorCode::kFailedPrecondition,
                "memory '" + entry_.name + "' holds " + std::to_string(state_.slots) +
                    " slots; index '" + config_.index + "' needs at least " +
                    std::to_string(fresh->min_train_points()) + " to train");
  }
  {
    std::unique_lock<RwLock> lock(index_mu_);
    index_ = std::move(fresh);
  }
  write_checkpoint_locked();
}

void MemoryCore::compact() {
  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  bool was_trained;
  {
    std::shared_lock<RwLock> r(index_mu_);
    was_trained = index_->is_trained();
  }
  auto fresh = build_index_from_store(was_trained);  // readers keep using the old index meanwhile
  {
    std::unique_lock<RwLock> lock(index_mu_);
    index_ = std::move(fresh);
  }
  write_checkpoint_locked();
}

void MemoryCore::close(bool write_checkpoint) {
  stop_value_cache_loader();
  std::lock_guard<std::mutex> w(write_mu_);
  if (closed_) return;
  // A checkpoint that already reflects every operation is not rewritten (a 1M-slot Flat index is
  // half a gigabyte): closing a memory that was only read costs nothing.
  const bool current = options_.read_only ||  // a read-only database writes nothing
                       (state_.op_seq == checkpoint_op_seq_ && std::filesystem::exists(index_path_));
  if (write_checkpoint && !current) {
    try {
      write_checkpoint_locked();
    } catch (const Error& e) {
      spdlog::error("memory '{}': checkpoint at close failed ({}); the next open catches up from the store",
                    entry_.name, e.what());
    }
  }
  std::unique_lock<RwLock> lock(index_mu_);
  closed_ = true;
  index_.reset();
  cache_.clear();
  cache_complete_ = false;
}

}  // namespace engram::detail
