// api/src/memory_core.h — one open memory: the invariants that tie the store and the index.
//
// Invariants (see docs/durability.md):
//  * A mutation commits to the store first (one WriteBatch: slots, op-log record, counters),
//    then is applied to the index and the value cache under the exclusive index lock. One that
//    removes ids from the index takes that lock before its commit: a reader never gets an id
//    the store does not hold.
//  * Writers are serialized by write_mu_, so op-log order is commit order is apply order.
//  * Readers take index_mu_ shared and wait for no sync but a removal's (above); an insert's
//    sync happens under write_mu_ only.
//  * The index checkpoint on disk reflects exactly the op-log prefix up to its op_seq.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/src/payload_index.h"
#include "api/src/rw_lock.h"
#include "api/src/value_cache.h"
#include "engram/config.h"
#include "engram/filter.h"
#include "engram/types.h"
#include "index/vector_index.h"
#include "storage/slot_store.h"

namespace engram::storage {
class BulkChunk;
}

namespace engram::detail {

// Tests only: while on, applying any change that touches an index throws (memory_commit.cc),
// so that the undo path of the commit unit can be exercised.
void fail_index_apply_for_testing(bool on);

class MemoryCore {
 public:
  // Opens the memory and recovers its index (checkpoint + op-log catch-up, or a full rebuild
  // when the checkpoint is missing, corrupt or inconsistent with the store).
  static std::shared_ptr<MemoryCore> open(storage::SlotStore* store,
                                          const storage::CatalogEntry& entry,
                                          const MemoryConfig& config,
                                          const std::string& index_path,
                                          const DatabaseOptions& options);

  ~MemoryCore();

  const std::string& name() const { return entry_.name; }
  const MemoryConfig& config() const { return config_; }
  storage::MemoryId id() const { return entry_.id; }

  // --- read path (memory_read.cc) ---
  ReadResult read(const MatrixView& queries, const SearchOptions& options) const;
  SearchResult search(const MatrixView& queries, const SearchOptions& options) const;
  RetrieveResult retrieve(const MatrixView& queries, const SearchOptions& options) const;
  std::vector<Slot> get(const std::vector<SlotId>& ids) const;
  std::vector<SlotId> resolve(const std::vector<ExternalId>& ids) const;
  ScrollPage scroll(const ScrollOptions& options) const;  // memory_scroll.cc
  MemoryStats stats() const;
  std::vector<SlotId> list_ids() const;

  // --- write path (memory_write.cc) ---
  std::vector<SlotId> insert(const MatrixView& keys, const MatrixView& values,
                             const std::vector<std::string>& payloads, const WriteOptions& o);
  WriteResult write(const MatrixView& queries, const MatrixView& values, const SearchOptions& search,
                    const WriteOptions& o);
  // Inserts rows with the caller's ids; with `replace`, a row whose id is taken replaces that
  // slot (upsert), else it is kAlreadyExists (memory_keyed.cc).
  std::vector<SlotId> insert_keyed(const std::vector<ExternalId>& external, const MatrixView& keys,
                                   const MatrixView& values, const std::vector<std::string>& payloads,
                                   const WriteOptions& o, bool replace);
  void update(const std::vector<SlotPatch>& patches, const WriteOptions& o);
  void erase(const std::vector<SlotId>& ids, const WriteOptions& o);
  // Erases every slot `filter` accepts, atomically; returns how many. REQUIRES: !filter.empty().
  std::size_t erase_matching(const Filter& filter, const WriteOptions& o);

  // --- the payload index (memory_payload_index.cc) ---
  // Indexes payload field `key` ("a.b" for a nested one): builds its entries from the stored
  // payloads, holding the writers meanwhile. No-op when it is indexed already.
  void create_payload_index(const std::string& key);
  void drop_payload_index(const std::string& key);
  std::vector<std::string> payload_indexes() const;

  // --- recovery and maintenance (memory_recovery.cc) ---
  void train();
  void compact();
  void checkpoint();
  // Checkpoints when one of the options' triggers (DatabaseOptions::checkpoint_every_*) has
  // fired; true if it wrote one. Called by the database's background checkpointer.
  bool checkpoint_if_due();
  // Checkpoints (unless dropped) and detaches from the store: later calls throw.
  void close(bool write_checkpoint);

  // --- bulk loads (memory_bulk.cc; the public face is engram/bulk_load.h) ---
  storage::SlotStore* store() const { return store_; }
  std::uint64_t next_slot_id() const;
  // Makes a chunk of new slots visible: ingests `files` (rows keys/values, n of each) with the
  // add op, the new state and `meta` records atomically, then indexes and caches the rows, all
  // under write_mu_ like insert(). When another writer took the ids the files were written for,
  // `rebuild(first_id)` rewrites them for the ids now next. Returns the first id.
  using ChunkRebuild = std::function<std::unique_ptr<storage::BulkChunk>(std::uint64_t)>;
  SlotId bulk_commit(std::unique_ptr<storage::BulkChunk> files, std::size_t n, const float* keys,
                     const float* values,
                     const std::vector<std::pair<std::string, std::string>>& meta,
                     const ChunkRebuild& rebuild);
  // Trains an untrained index on `sample` (n × key_dim) and indexes every stored key, so the
  // chunks that follow are indexed as they commit. No-op when the index is trained.
  void bulk_train(std::size_t n, const float* sample);
  // Sizes the value cache for `rows` more slots (a bulk load of known size).
  void bulk_reserve(std::size_t rows);
  // Undoes a bulk load: erases the slots in `ranges` ([begin, end) ids) and the meta record
  // `job`, in one synced batch, then removes them from the index and the cache.
  void bulk_undo(const std::vector<std::pair<SlotId, SlotId>>& ranges, const std::string& job);

 private:
  MemoryCore(storage::SlotStore* store, const storage::CatalogEntry& entry,
             const MemoryConfig& config, const std::string& index_path,
             const DatabaseOptions& options);

  // erase() of unique ids. REQUIRES: write_mu_ held.
  void erase_locked(const std::vector<SlotId>& ids, const WriteOptions& o);
  // Throws unless the memory is open. REQUIRES: index_mu_ or write_mu_ held.
  void check_open() const;
  // Throws kFailedPrecondition while the index waits for training data.
  void check_searchable() const;

  // Top-k of each query among the slots `filter` accepts: n × k scores and ids, the index tuned
  // by `tuning` for this call.
  // REQUIRES: index_mu_ held (shared).
  void search_locked(const MatrixView& queries, int k, std::vector<float>* scores,
                     std::vector<SlotId>* ids, const index::SearchTuning& tuning,
                     const Filter& filter) const;

  // search_locked() with a non-empty filter: in the index, or exactly over the accepted slots
  // (memory_filter.cc). REQUIRES: index_mu_ held (shared).
  void filtered_search_locked(const MatrixView& queries, int k, std::vector<float>* scores,
                              std::vector<SlotId>* ids, const index::SearchTuning& tuning,
                              const Filter& filter) const;
  // Which live slots a filter accepts (memory_filter.cc): a bitmap over the ids below next_id.
  struct Match {
    index::IdFilter ids;
    std::size_t count = 0;  // how many
  };
  // Recently matched filters are kept (by their JSON) until the memory next changes: a filter
  // that many calls share — one document, one source — is matched once, as a search engine's
  // filter cache does. REQUIRES: index_mu_ held (shared).
  std::shared_ptr<const Match> match_locked(const Filter& filter) const;
  // What a change to the slots or the payload index does to the filters matched so far.
  // REQUIRES: index_mu_ held exclusively.
  void forget_matches_locked() { ++match_version_; }
  // A bit per id below next_id, set for the live slots: built from the store on first use (a
  // filtered call), then kept by apply_locked. REQUIRES: index_mu_ held (shared).
  const std::vector<std::uint64_t>& live_locked() const;
  // The slots below `bound` that `root` accepts, from a scan of the payloads (fields that are
  // not indexed), into *ids (which starts as the verdict for a slot without a payload).
  void scan_match(const Filter::Node& root, SlotId bound, index::IdFilter* ids) const;
  // The slots `m` accepts, ascending.
  static std::vector<SlotId> accepted_ids(const Match& m);
  // Exact top-k of each query among `ids`, reading their keys from the index or the store.
  void exact_search_locked(const MatrixView& queries, int k, const std::vector<SlotId>& ids,
                           std::vector<float>* scores, std::vector<SlotId>* out) const;
  // The slots `ids` names, with keys and values as asked. A missing id is kNotFound, or left
  // out with `skip_missing`. REQUIRES: index_mu_ held (shared).
  std::vector<Slot> fetch_slots_locked(const std::vector<SlotId>& ids, bool keys, bool values,
                                       bool skip_missing) const;
  // Values of `ids` into out (ids.size() × value_dim); found[i] false for absent ids.
  // REQUIRES: index_mu_ held (shared).
  void fetch_values_locked(const std::vector<SlotId>& ids, float* out,
                           std::vector<bool>* found) const;

  // One change to the memory, as commit_locked() applies it (memory_commit.cc).
  struct Change {
    std::vector<SlotId> removed;           // ids leaving the index (erased, or re-keyed: old key)
    std::vector<SlotId> added;             // ids entering the index ...
    const float* added_keys = nullptr;     // ... with these keys (added.size() × key_dim)
    std::vector<std::pair<SlotId, const float*>> cached;  // values to put in the value cache
    std::vector<SlotId> uncached;          // ids to drop from the value cache
    std::int64_t slot_delta = 0;           // live slots gained (negative: lost)
    std::uint64_t ids_used = 0;            // new ids taken (next_id advances by this)
    // What undoing the change writes back: the ids it created (erased again), and the parts
    // of existing slots it overwrote or deleted (written again).
    std::vector<SlotId> created;
    std::vector<SlotPatch> before;
    // The caller's ids the change gives (slot, encoded id) and takes away.
    std::vector<std::pair<SlotId, std::string>> externals_added, externals_removed;
    // Payload index entries the change adds and removes (in its batch; applied to the RAM
    // index with the rest of the change).
    struct IndexEntry {
      std::size_t field;
      std::string value;
      SlotId slot;
      bool add;
    };
    std::vector<IndexEntry> index_entries;
    // False when the change has no before-images (a bulk undo): if applying it to the index
    // fails, the store's version stands and the index is rebuilt from it.
    bool reversible = true;
    // The index ops this change logs, in replay order (filled by commit_locked).
    std::vector<storage::IndexOp> ops;
    storage::MemoryState next;             // the state after it (filled by commit_locked)
  };
  // Makes `c` durable through `store_write(c)` — which must write c.ops and c.next atomically
  // with the change's records — then applies it to the index and the cache. If applying fails,
  // the change is undone in the store, the index is rebuilt from the store, and the error is
  // rethrown: a refused change leaves nothing behind. With `overlap`, the store write (a bulk
  // ingestion) runs on another thread while a trained index is being added to.
  // REQUIRES: write_mu_ held.
  using StoreWrite = std::function<void(const Change&)>;
  void commit_locked(Change& c, const StoreWrite& store_write, bool overlap = false);
  // A StoreWrite for changes whose records are in `batch`.
  StoreWrite batch_write(storage::SlotBatch& batch, bool sync);
  // Resolves the sync flag of a write. REQUIRES: write_mu_ held.
  bool resolve_sync(const WriteOptions& o) const;
  // commit_locked's steps. REQUIRES: write_mu_ and index_mu_ (exclusive) held.
  void apply_locked(const Change& c);
  void undo_locked(const Change& c);
  // Reads the parts of `ids` that a change will overwrite (key, value, payload as asked), for
  // Change::before; throws kNotFound naming the first id the store does not hold.
  std::vector<SlotPatch> read_before(const std::vector<SlotId>& ids, bool keys, bool values,
                                     bool payloads) const;
  // Applies committed key changes to the index; trains it when it has waited for enough data.
  // REQUIRES: write_mu_ and index_mu_ (exclusive) held.
  void index_add_locked(std::size_t n, const float* keys, const SlotId* ids);
  void maybe_train_locked();
  // Counts changed slots toward the next background checkpoint. REQUIRES: write_mu_ held.
  void note_changes_locked(std::size_t changed) { changed_since_checkpoint_ += changed; }

  // Payload index helpers (memory_payload_index.cc).
  // Writes to `batch` (and notes in `c`) the payload index entries that change when slot `id`'s
  // payload goes from `before` to `after` (null: none). REQUIRES: write_mu_ held.
  void stage_payload(storage::SlotBatch& batch, Change& c, SlotId id, const std::string* before,
                     const std::string* after) const;
  // Loads the declared fields and their entries at open; rebuilds the entries from the payloads
  // first when a crash left them marked unfinished (a bulk load, a build). REQUIRES: exclusive access.
  void open_payload_index();
  // Rewrites the entries of `fields` (all: every entry of the memory) from the payloads, in the
  // store unless it is read-only, clears the dirty marker, and gives the RAM index those fields.
  // REQUIRES: write_mu_ held.
  void build_payload_index_locked(const std::vector<std::string>& fields, bool all);
  // The RAM index read back from the store's entries. REQUIRES: write_mu_ held, or exclusive access.
  PayloadIndex load_payload_index(const std::vector<std::string>& fields) const;
  // Marks the entries unfinished until cleared (the marker a crash leaves behind).
  std::string payload_index_dirty_key() const;
  // Indexes the payloads of new slots [first, first + n) in the store and in RAM (bulk loads,
  // whose chunks carry the dirty marker). REQUIRES: write_mu_ held.
  void index_new_payloads_locked(SlotId first, std::size_t n);

  // Recovery helpers (memory_recovery.cc).
  // Loads the checkpoint and replays the op log past it; false (logged) when the checkpoint is
  // missing, corrupt or does not match the store. REQUIRES: exclusive access.
  bool load_checkpoint();
  // A new index holding every key in the store; trained when the store holds enough keys
  // (auto_train_points, or min_train_points when force_train). REQUIRES: write_mu_ held.
  std::unique_ptr<index::VectorIndex> build_index_from_store(bool force_train) const;
  // Starts filling the value cache from the store on a background thread, the first time a
  // value is asked for: opening a memory costs no more than loading its index, and a process
  // that only searches (engram search) never scans the values. Until the loader is done,
  // values missing from the cache are read from the store. After stop, it never starts.
  void start_value_cache_loader() const;
  void stop_value_cache_loader();
  // REQUIRES: write_mu_ held.
  void write_checkpoint_locked();

  storage::SlotStore* store_;
  const storage::CatalogEntry entry_;
  const MemoryConfig config_;
  const std::string index_path_;
  const DatabaseOptions options_;

  mutable std::mutex write_mu_;                // serializes writers
  mutable RwLock index_mu_;         // guards index_, cache_, closed_
  storage::MemoryState state_;                 // guarded by write_mu_ (+ index_mu_ to change)
  std::unique_ptr<index::VectorIndex> index_;  // guarded by index_mu_
  mutable ValueCache cache_;                   // guarded by index_mu_; used if cache_values
  PayloadIndex payload_index_;                 // guarded by index_mu_ (changed under write_mu_ too)
  mutable std::vector<std::uint64_t> live_;    // live_locked(); guarded by index_mu_ once built
  mutable std::atomic<bool> live_built_{false};
  mutable std::mutex live_mu_;                 // serializes building live_ (under a shared index_mu_)
  std::uint64_t match_version_ = 0;            // guarded by index_mu_
  mutable std::mutex match_cache_mu_;          // guards the two below
  mutable std::uint64_t match_cache_version_ = 0;
  mutable std::vector<std::pair<std::string, std::shared_ptr<const Match>>> match_cache_;  // most recent last
  mutable bool cache_complete_ = false;        // guarded by index_mu_: every live value is in cache_
  mutable std::mutex loader_mu_;               // guards cache_loader_ (and starting it)
  mutable std::thread cache_loader_;
  mutable std::atomic<bool> loader_started_{false};
  std::atomic<bool> stop_loader_{false};
  bool closed_ = false;                        // guarded by index_mu_ (written under both)
  std::uint64_t checkpoint_op_seq_ = 0;        // guarded by write_mu_
  std::size_t changed_since_checkpoint_ = 0;   // guarded by write_mu_
  std::chrono::steady_clock::time_point last_checkpoint_ = std::chrono::steady_clock::now();  // write_mu_
  double last_checkpoint_seconds_ = 0;         // how long the last one took; guarded by write_mu_
};

}  // namespace engram::detail
