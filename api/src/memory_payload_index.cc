// The payload index of a memory (api/src/payload_index.h): declaring and dropping fields, the
// entries every payload change writes in its own batch, and recovery.
//
// Crash safety: an ordinary write changes payloads and entries in one WriteBatch, so they never
// disagree. The two writes that cannot do that — a bulk chunk (SST files) and building a new
// field's entries (many batches) — first write a dirty marker ("p/" + memory id, meta family)
// atomically with their start, and clear it with their last batch; a memory opened with the
// marker rebuilds its entries from the payloads before it serves anything.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "api/src/memory_core.h"
#include "engram/error.h"

namespace engram::detail {
namespace {

// Entries are written this many slots at a time while a field is built.
constexpr std::size_t kBuildBatchSlots = 4096;

// The entry values that `after` has and `before` lacks (to put), and the other way (to erase).
void diff(const std::vector<std::string>& before, const std::vector<std::string>& after,
          std::vector<std::string>* put, std::vector<std::string>* erase) {
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(), std::back_inserter(*put));
  std::set_difference(before.begin(), before.end(), after.begin(), after.end(), std::back_inserter(*erase));
}

}  // namespace

std::string MemoryCore::payload_index_dirty_key() const { return storage::payload_index_meta_prefix(entry_.id); }

void MemoryCore::stage_payload(storage::SlotBatch& batch, Change& c, SlotId id, const std::string* before,
                               const std::string* after) const {
  if (payload_index_.empty()) return;
  const nlohmann::json none(nlohmann::json::value_t::discarded);
  const nlohmann::json old_fields = before ? payload_fields(*before) : none;
  const nlohmann::json new_fields = after ? payload_fields(*after) : none;
  for (std::size_t f = 0; f < payload_index_.fields().size(); ++f) {
    std::vector<std::string> put, erase;
    diff(index_values(old_fields, payload_index_.path(f)), index_values(new_fields, payload_index_.path(f)), &put, &erase);
    const std::string& key = payload_index_.fields()[f];
    for (std::string& v : erase) {
      batch.erase_index_entry(storage::index_entry_key(entry_.id, key, v, id));
      c.index_entries.push_back({f, std::move(v), id, false});
    }
    for (std::string& v : put) {
      batch.put_index_entry(storage::index_entry_key(entry_.id, key, v, id));
      c.index_entries.push_back({f, std::move(v), id, true});
    }
  }
}

void MemoryCore::create_payload_index(const std::string& key) {
  split_field_key(key);  // throws kInvalidArgument for a malformed key
  if (key.size() > 1024) throw Error(ErrorCode::kInvalidArgument, "a field key is at most 1024 bytes");
  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  if (payload_index_.find(key)) return;
  // The declaration and the dirty marker first, atomically: a crash while the entries are being
  // written leaves a declared field that the next open builds.
  storage::SlotBatch batch = store_->new_batch(entry_.id);
  batch.put_meta(payload_index_dirty_key() + key, "");
  batch.put_meta(payload_index_dirty_key(), "");
  store_->commit(batch, /*sync=*/true);
  // Readers go on meanwhile: the field joins the RAM index only once it is whole.
  build_payload_index_locked({key}, /*all=*/false);
  spdlog::info("memory '{}': indexed payload field '{}'", entry_.name, key);
}

void MemoryCore::drop_payload_index(const std::string& key) {
  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  if (!payload_index_.find(key)) {
    throw Error(ErrorCode::kNotFound, "memory '" + entry_.name + "' has no payload index on \"" + key + "\"");
  }
  storage::SlotBatch batch = store_->new_batch(entry_.id);
  batch.erase_meta(payload_index_dirty_key() + key);
  // Every entry of the field starts with its prefix (which holds the key's length: a longer key
  // that starts alike has another prefix).
  std::string end = storage::index_entry_prefix(entry_.id, key);
  const std::string begin = end;
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);  // the memory id's bytes are never all 0xff
  batch.erase_index_range(begin, end);
  store_->commit(batch, /*sync=*/true);
  std::unique_lock<RwLock> lock(index_mu_);
  payload_index_.remove_field(key);
}

std::vector<std::string> MemoryCore::payload_indexes() const {
  std::shared_lock<RwLock> lock(index_mu_);
  check_open();
  return payload_index_.fields();
}

PayloadIndex MemoryCore::load_payload_index(const std::vector<std::string>& fields) const {
  PayloadIndex index;
  for (const std::string& key : fields) {
    const std::size_t f = index.add_field(key);
    const std::string prefix = storage::index_entry_prefix(entry_.id, key);
    store_->scan_index_entries(prefix, [&](const rocksdb::Slice& k) {
      if (k.size() < prefix.size() + 1 + 8) throw Error(ErrorCode::kCorruption, "a payload index entry is malformed");
      const std::string value(k.data() + prefix.size(), k.size() - prefix.size() - 8);
      index.insert(f, value, storage::get_u64_be(k.data() + k.size() - 8));
      return true;
    });
  }
  return index;
}

void MemoryCore::open_payload_index() {
  std::vector<std::string> fields;
  bool dirty = false;
  const std::string prefix = payload_index_dirty_key();
  store_->scan_meta(prefix, [&](const std::string& k, const std::string&) {
    if (k == prefix) dirty = true;
    else fields.push_back(k.substr(prefix.size()));
  });
  if (fields.empty()) return;
  if (dirty) {
    spdlog::warn("memory '{}': rebuilding the payload index (an interrupted bulk load or build left it unfinished)",
                 entry_.name);
    build_payload_index_locked(fields, /*all=*/true);
    return;
  }
  payload_index_ = load_payload_index(fields);
}

void MemoryCore::build_payload_index_locked(const std::vector<std::string>& fields, bool all) {
  const bool write = store_->read_only_reason().empty();
  PayloadIndex fresh;
  for (const std::string& key : fields) fresh.add_field(key);
  storage::SlotBatch batch = store_->new_batch(entry_.id);
  if (write && all) batch.erase_index_range(storage::index_entry_prefix(entry_.id, ""), storage::range_end(entry_.id));
  std::size_t in_batch = 0;
  store_->scan_payloads(entry_.id, [&](std::uint64_t id, const std::string& payload) {
    const nlohmann::json fields = payload_fields(payload);
    if (fields.is_discarded()) return;
    for (std::size_t f = 0; f < fresh.fields().size(); ++f) {
      for (const std::string& v : index_values(fields, fresh.path(f))) {
        fresh.insert(f, v, id);
        if (write) batch.put_index_entry(storage::index_entry_key(entry_.id, fresh.fields()[f], v, id));
      }
    }
    if (write && ++in_batch == kBuildBatchSlots) {
      store_->commit(batch, /*sync=*/false);
      batch = store_->new_batch(entry_.id);
      in_batch = 0;
    }
  });
  if (write) {
    batch.erase_meta(payload_index_dirty_key());
    store_->commit(batch, /*sync=*/true);
  }
  std::unique_lock<RwLock> lock(index_mu_);
  if (all) payload_index_ = std::move(fresh);
  else payload_index_.adopt(std::move(fresh));
}

void MemoryCore::index_new_payloads_locked(SlotId first, std::size_t n) {
  std::vector<SlotId> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = first + i;
  const std::vector<std::string> payloads = store_->multi_get_payloads(entry_.id, ids);
  storage::SlotBatch batch = store_->new_batch(entry_.id);
  Change c;
  for (std::size_t i = 0; i < n; ++i)
    if (!payloads[i].empty()) stage_payload(batch, c, ids[i], nullptr, &payloads[i]);
  batch.erase_meta(payload_index_dirty_key());
  store_->commit(batch, /*sync=*/true);
  std::unique_lock<RwLock> lock(index_mu_);
  for (const Change::IndexEntry& e : c.index_entries) payload_index_.insert(e.field, e.value, e.slot);
}

}  // namespace engram::detail
