// engram/memory.h — an embedded memory: a FAISS index over keys, with RocksDB underneath.
//
// Obtain one from Database::create_memory() or Database::memory(). The object stays valid after
// the Database is closed only until its last shared_ptr is released; calls on a dropped memory
// throw kNotFound.
#pragma once

#include <memory>
#include <string>

#include "engram/memory_interface.h"

namespace engram {

namespace detail {
class MemoryCore;
class DatabaseCore;
}

class Memory final : public MemoryInterface {
 public:
  Memory(std::shared_ptr<detail::MemoryCore> core, std::weak_ptr<detail::DatabaseCore> database);
  ~Memory() override;
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;

  const std::string& name() const;

  MemoryConfig config() const override;
  std::vector<SlotId> insert(MatrixView keys, MatrixView values,
                             const std::vector<std::string>& payloads = {},
                             const WriteOptions& options = {}) override;
  std::vector<SlotId> insert(const std::vector<ExternalId>& ids, MatrixView keys, MatrixView values,
                             const std::vector<std::string>& payloads = {},
                             const WriteOptions& options = {}) override;
  std::vector<SlotId> upsert(const std::vector<ExternalId>& ids, MatrixView keys, MatrixView values,
                             const std::vector<std::string>& payloads = {},
                             const WriteOptions& options = {}) override;
  std::vector<SlotId> resolve(const std::vector<ExternalId>& ids) override;
  ScrollPage scroll(const ScrollOptions& options) override;
  void create_payload_index(const std::string& field) override;
  void drop_payload_index(const std::string& field) override;
  std::vector<std::string> payload_indexes() override;
  ReadResult read(MatrixView queries, const SearchOptions& options = {}) override;
  using MemoryInterface::retrieve;
  RetrieveResult retrieve(MatrixView queries, const SearchOptions& options) override;
  using MemoryInterface::write;
  WriteResult write(MatrixView queries, MatrixView values, const SearchOptions& search,
                    const WriteOptions& options = {}) override;
  SearchResult search(MatrixView queries, const SearchOptions& options = {}) override;
  std::vector<Slot> get(const std::vector<SlotId>& ids) override;
  void update(const std::vector<SlotPatch>& patches, const WriteOptions& options = {}) override;
  void erase(const std::vector<SlotId>& ids, const WriteOptions& options = {}) override;
  std::size_t erase_matching(const Filter& filter, const WriteOptions& options = {}) override;
  MemoryStats stats() override;

  // Trains a trained index type (IVF, PQ) on the keys stored now and indexes them. Throws
  // kFailedPrecondition when there are too few slots to train on. No-op for Flat and HNSW.
  void train();

  // Rebuilds the index from the store, dropping tombstones (HNSW cannot remove in place), then
  // checkpoints it.
  void compact();

  // The ids of every slot, ascending (a scan of the store).
  std::vector<SlotId> list_ids();

  // Writes the index checkpoint now (it is also written when the database closes).
  void checkpoint();

  // A snapshot of the database that holds this memory only: Database::snapshot(dir, {name()}).
  // Throws kFailedPrecondition once its database is closed.
  void snapshot(const std::string& dir);

 private:
  friend class Database;  // closes the memory when the database closes or drops it
  friend class detail::DatabaseCore;  // its background checkpointer
  friend class BulkLoader;  // bulk loads go through the core (engram/bulk_load.h)
  std::shared_ptr<detail::MemoryCore> core_;
  std::weak_ptr<detail::DatabaseCore> database_;
};

}  // namespace engram
