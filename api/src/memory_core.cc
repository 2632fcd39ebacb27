#include "api/src/memory_core.h"

#include <chrono>
#include <filesystem>

#include "engram/error.h"

namespace engram::detail {

MemoryCore::MemoryCore(storage::SlotStore* store, const storage::CatalogEntry& entry,
                       const MemoryConfig& config, const std::string& index_path,
                       const DatabaseOptions& options)
    : store_(store),
      entry_(entry),
      config_(config),
      index_path_(index_path),
      options_(options),
      cache_(static_cast<std::size_t>(config.value_dim)) {}

void MemoryCore::check_open() const {
  if (closed_) {
    throw Error(ErrorCode::kNotFound, "memory '" + entry_.name + "' was dropped or its database closed");
  }
}

void MemoryCore::check_searchable() const {
  if (!index_->is_trained()) {
    throw Error(ErrorCode::kFailedPrecondition,
                "index '" + config_.index + "' of memory '" + entry_.name + "' is not trained yet: " +
                    std::to_string(state_.slots) + " slots stored, it trains itself at " +
                    std::to_string(index_->auto_train_points()) + " (or call train() once there are " +
                    std::to_string(index_->min_train_points()) + ")");
  }
}

bool MemoryCore::resolve_sync(const WriteOptions& o) const { return o.sync.value_or(config_.sync); }

MemoryStats MemoryCore::stats() const {
  std::lock_guard<std::mutex> w(write_mu_);
  std::shared_lock<RwLock> r(index_mu_);
  check_open();
  MemoryStats s;
  s.slots = state_.slots;
  s.indexed = index_->size();
  s.tombstones = index_->tombstones();
  s.trained = index_->is_trained();
  s.next_id = state_.next_id;
  s.op_seq = state_.op_seq;
  s.checkpoint_op_seq = checkpoint_op_seq_;
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(index_path_, ec);
  s.index_bytes = ec ? 0 : static_cast<std::uint64_t>(bytes);
  s.checkpoint_age_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_checkpoint_).count();
  s.store_bytes = store_->approximate_bytes(entry_.id);
  return s;
}

}  // namespace engram::detail
