// storage/slot_store.h — the durable home of every memory: RocksDB and nothing of FAISS.
//
// Column families:
//   meta     catalog ("m/<name>" -> memory id + config JSON), per-memory state ("s/<id>" ->
//            next slot id + last op seq), the memory-id counter
//   keys     (memory, slot id) -> key vector bytes
//   values   (memory, slot id) -> value vector bytes
//   payloads (memory, slot id) -> payload bytes (absent when empty)
//   oplog    (memory, op seq)  -> an IndexOp: what a committed batch did to the set of keys
//   external_ids  (memory, client's id) <-> slot id, both ways (storage/keys.h)
//   payload_index (memory, field, value, slot id) -> nothing: the slots a payload field value names
// Every logical operation is one WriteBatch touching these together, so it is all-or-nothing.
// The store knows nothing of dimensions: vectors are opaque byte strings here.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "storage/keys.h"

namespace rocksdb {
class DB;
class Status;
class Slice;
class ColumnFamilyHandle;
struct ColumnFamilyDescriptor;
struct DBOptions;
class Cache;
}  // namespace rocksdb

namespace engram::storage {

struct CatalogEntry {
  std::string name;
  MemoryId id = 0;
  std::string config_json;
};

// The counters a memory's writers advance; persisted in every batch that changes them.
struct MemoryState {
  std::uint64_t next_id = 0;  // the id the next inserted slot gets
  std::uint64_t slots = 0;    // live slots
  std::uint64_t op_seq = 0;   // the seq of the last committed IndexOp (0: none yet)
};

// What one committed batch did to a memory's key set, in the order the index must replay it.
struct IndexOp {
  enum Kind : std::uint8_t { kAdd = 1, kRemove = 2 };
  std::uint64_t seq = 0;
  Kind kind = kAdd;
  std::vector<std::uint64_t> ids;
};

// The value bytes of an op-log record and of a state record (docs/durability.md).
std::string encode_index_op(const IndexOp& op);
std::string encode_memory_state(const MemoryState& state);

class SlotStore;

// One atomic change to one memory, built up and then committed with SlotStore::commit().
class SlotBatch {
 public:
  ~SlotBatch();
  SlotBatch(SlotBatch&&) noexcept;
  SlotBatch& operator=(SlotBatch&&) noexcept;

  void put_key(std::uint64_t id, const void* data, std::size_t bytes);
  void put_value(std::uint64_t id, const void* data, std::size_t bytes);
  void put_payload(std::uint64_t id, const std::string& payload);  // empty: deletes it
  // Deletes the slot's key, value and payload (not its external id or index entries: the
  // caller erases those it knows of).
  void erase_slot(std::uint64_t id);
  // Gives slot `id` the client's id `external` (encoded bytes), both ways; erase drops both.
  void put_external_id(std::uint64_t id, const std::string& external);
  // The same for many (slot, id) pairs: the records go in key order, one direction at a time —
  // a memtable takes neighbouring keys several times faster than keys in random order.
  void put_external_ids(std::vector<std::pair<std::uint64_t, std::string>> pairs);
  void erase_external_id(std::uint64_t id, const std::string& external);
  // A payload index entry (storage/keys.h index_entry_key).
  void put_index_entry(const std::string& entry);
  void erase_index_entry(const std::string& entry);
  // Deletes the payload index entries in [begin, end).
  void erase_index_range(const std::string& begin, const std::string& end);
  // A record of the meta family (a payload index's declaration), in or out.
  void put_meta(const std::string& key, const std::string& value);
  void erase_meta(const std::string& key);
  // Appends an IndexOp record (seq assigned by the caller, strictly increasing).
  void log_index_op(const IndexOp& op);
  void set_state(const MemoryState& state);

  std::size_t approximate_bytes() const;

 private:
  friend class SlotStore;
  explicit SlotBatch(MemoryId memory);
  struct Rep;
  MemoryId memory_;
  std::unique_ptr<Rep> rep_;
};

struct StoreOptions {
  std::size_t block_cache_bytes = 256u << 20;
  bool create_if_missing = true;
  // Writes are refused (kNoSpace) while the file system holding the store has less free space
  // than this, and the store opens read-only when it starts with less. The margin is what
  // RocksDB's own flushes and compactions need to finish: a write that fails inside RocksDB
  // leaves its log writer unusable (Debian's build then aborts on the next sync).
  std::uint64_t min_free_bytes = 256u << 20;
  // Open for reading only (RocksDB's OpenForReadOnly, which writes nothing), holding the same
  // LOCK file a writer holds, so that neither can open while the other has the store.
  bool read_only = false;
};

class SlotStore {
 public:
  // Opens the RocksDB folder `dir`. Throws engram::Error: kBusy when another process holds its
  // lock, kIOError / kCorruption when RocksDB fails.
  static std::unique_ptr<SlotStore> open(const std::string& dir, const StoreOptions& options);
  ~SlotStore();

  // --- catalog ---
  std::vector<CatalogEntry> list_memories() const;
  std::optional<CatalogEntry> find_memory(const std::string& name) const;
  // Allocates an id and records the memory, atomically and synced. kAlreadyExists if taken.
  CatalogEntry create_memory(const std::string& name, const std::string& config_json);
  // Removes the catalog entry and every record of the memory, synced.
  void drop_memory(const CatalogEntry& entry);

  MemoryState load_state(MemoryId memory) const;

  // --- writes ---
  // A batch for `memory` that only this store can commit.
  SlotBatch new_batch(MemoryId memory) const;
  void commit(SlotBatch& batch, bool sync);
  // Makes everything committed so far durable (fsync of the WAL).
  void sync_wal();

  // --- reads ---
  // For each id: fills `out + i * bytes_per_row` with the stored bytes and sets found[i].
  // A record of the wrong size is kCorruption.
  void multi_get_keys(MemoryId memory, const std::vector<std::uint64_t>& ids, float* out,
                      std::size_t floats_per_row, std::vector<bool>* found) const;
  void multi_get_values(MemoryId memory, const std::vector<std::uint64_t>& ids, float* out,
                        std::size_t floats_per_row, std::vector<bool>* found) const;
  std::vector<std::string> multi_get_payloads(MemoryId memory,
                                              const std::vector<std::uint64_t>& ids) const;

  // Calls fn(id, data, floats) for every stored key (or value) of `memory`, in id order.
  using VectorVisitor = std::function<void(std::uint64_t, const float*, std::size_t)>;
  void scan_keys(MemoryId memory, const VectorVisitor& fn) const;
  void scan_values(MemoryId memory, const VectorVisitor& fn) const;
  // Calls fn(id) for every slot of `memory`, in id order.
  void scan_ids(MemoryId memory, const std::function<void(std::uint64_t)>& fn) const;

  // Calls fn(id) for the slots of `memory` with ids >= first, in id order, while fn returns true.
  void scan_ids_from(MemoryId memory, std::uint64_t first, const std::function<bool(std::uint64_t)>& fn) const;

  // The slot each client's id (encoded) names, or nothing.
  std::vector<std::optional<std::uint64_t>> find_external_ids(MemoryId memory,
                                                              const std::vector<std::string>& external) const;
  // The client's id (encoded) of each slot, or "" for a slot without one.
  std::vector<std::string> external_ids_of(MemoryId memory, const std::vector<std::uint64_t>& ids) const;

  // Calls fn(key) for every payload index entry that starts with `prefix` (index_entry_prefix
  // and more), in key order, while fn returns true.
  void scan_index_entries(const std::string& prefix, const std::function<bool(const rocksdb::Slice&)>& fn) const;
  // Calls fn(key, value) for every meta record whose key starts with `prefix`.
  void scan_meta(const std::string& prefix, const std::function<void(const std::string&, const std::string&)>& fn) const;

  // Calls fn(id, payload) for every slot of `memory` that has a payload (an empty one is not
  // stored), in id order.
  void scan_payloads(MemoryId memory, const std::function<void(std::uint64_t, const std::string&)>& fn) const;

  // Calls fn for every IndexOp of `memory` with seq > after, in seq order.
  void scan_index_ops(MemoryId memory, std::uint64_t after,
                      const std::function<void(const IndexOp&)>& fn) const;
  // Deletes the IndexOps with seq <= upto (they are reflected in a durable index checkpoint).
  void truncate_index_ops(MemoryId memory, std::uint64_t upto);

  // An openable copy of the store in `dir` (RocksDB Checkpoint: hard links where possible).
  void checkpoint_to(const std::string& dir);
  // Rewrites every file of every column family, so deleted ranges (dropped memories) leave no
  // bytes behind. For a snapshot that keeps some memories only.
  void compact_all();

  // About how many bytes `memory`'s records take in RocksDB: its share of the SST files (as
  // compressed on disk) plus what its records hold in the memtables, over every family.
  // RocksDB's estimate (from index blocks), not an exact count: cheap enough for every stats call.
  std::uint64_t approximate_bytes(MemoryId memory) const;

  // Why writes are refused now (the disk is full, a write failed, the store opened read-only),
  // or "" while it takes them. Writes refused for lack of space resume by themselves once
  // space is freed; after a failed write, only reopening the store makes it writable again.
  std::string read_only_reason() const;

 private:
  // Bulk loads (storage/bulk_writer.cc) write SST files and ingest them: they need RocksDB itself.
  friend struct BulkAccess;
  SlotStore();
  enum Cf { kMeta = 0, kKeys, kValues, kPayloads, kOplog, kExternalIds, kPayloadIndex, kNumCf };
  // Opens the families the store has (an older store lacks the newer ones: they read as empty).
  void open_read_only(const rocksdb::DBOptions& db_options,
                      const std::vector<rocksdb::ColumnFamilyDescriptor>& descriptors, rocksdb::DB** raw);
  // Calls on_found(i, value) for every ids[i] the family holds (one MultiGet for all).
  void multi_get(Cf cf, MemoryId memory, const std::vector<std::uint64_t>& ids,
                 const std::function<void(std::size_t, const rocksdb::Slice&)>& on_found) const;
  // The same for keys given whole (any family's layout).
  void multi_get_raw(Cf cf, const std::vector<std::string>& keys,
                     const std::function<void(std::size_t, const rocksdb::Slice&)>& on_found) const;
  void multi_get_floats(Cf cf, MemoryId memory, const std::vector<std::uint64_t>& ids, float* out,
                        std::size_t floats_per_row, std::vector<bool>* found) const;
  void scan_floats(Cf cf, MemoryId memory, const VectorVisitor& fn) const;

  // Every write to RocksDB goes through here (write_gate.cc): refused with kNoSpace while the
  // disk has less than min_free_bytes free or after a write failed; a write that fails marks the
  // store read-only, so that RocksDB's failed log writer is never used again.
  void guarded_write(std::uint64_t bytes, const std::string& what,
                     const std::function<rocksdb::Status()>& write);

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  std::string dir_;
  int read_lock_fd_ = -1;  // the LOCK file held by a read-only store (RocksDB holds it otherwise)
  std::mutex catalog_mutex_;  // serializes create/drop so names and ids stay unique
  struct WriteGate;
  std::unique_ptr<WriteGate> gate_;
};

}  // namespace engram::storage
