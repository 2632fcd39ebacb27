// storage/bulk_writer.h — bulk loads: a chunk of new slots written as SST files, then ingested
// into the store in one atomic step (RocksDB IngestExternalFiles over every column family).
//
// Why not WriteBatches: a bulk load of millions of slots through the WAL and the memtables writes
// every byte three times (WAL, flush, compaction). A chunk written as sorted SST files and
// ingested is written once, and since a chunk's ids are all new and above every stored id, its
// files drop straight to the bottom level with no compaction.
//
// Atomicity: ingest_chunk() ingests the chunk's keys/values/payloads files together with a small
// oplog file (the chunk's add op) and a small meta file (the memory's new state record, plus
// any extra meta records such as a bulk-load job record) in ONE IngestExternalFiles call, which
// RocksDB records atomically in its MANIFEST: after a crash, all of them are there or none.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/slot_store.h"

namespace engram::storage {

// The SST files of one chunk of consecutive new slot ids [first_id, first_id + count).
// Writing one needs no lock of the store. Each family has its own file, and the three files may
// be written on three threads at once (one thread per family). Files are deleted when the object
// dies unless they were ingested.
//
// The keys and values files are written without a bloom filter, unlike the files RocksDB writes
// itself: a chunk's ids are contiguous and its files sit alone in their key range at the bottom
// level, so a lookup of an id in range finds it (ids are only ever read after the index or the
// catalog named them) and a filter would cost CPU on every bulk load for nothing. Payload files
// keep the family's filter: payloads are sparse, and reads probe ids that have none.
class BulkChunk {
 public:
  enum Family { kKeys = 0, kValues = 1, kPayloads = 2 };

  // Files are named `prefix` + ".<family>.sst"; their folder must exist, on the store's file
  // system so that ingestion can link them rather than copy.
  BulkChunk(const SlotStore& store, MemoryId memory, std::uint64_t first_id, std::string prefix);
  ~BulkChunk();
  BulkChunk(const BulkChunk&) = delete;
  BulkChunk& operator=(const BulkChunk&) = delete;

  // Appends the record of slot first_id + row to `family`'s file. Rows of one family must come in
  // ascending order (payload rows may skip: an empty payload stores nothing); calls for different
  // families may run on different threads at once.
  void put(Family family, std::uint64_t row, const void* data, std::size_t bytes);
  // Closes (and syncs) `family`'s file; on the thread that wrote it. Idempotent.
  void finish_family(Family family);

  // Appends the next slot (id first_id + count()) to all three files. An empty payload stores
  // nothing.
  void add(const void* key, std::size_t key_bytes, const void* value, std::size_t value_bytes,
           const std::string& payload);
  // Closes the files, which must hold `rows` keys and `rows` values (the rows put(); with add()
  // only, omit it). REQUIRES: at least one row.
  void finish(std::uint64_t rows = 0);

  std::uint64_t first_id() const { return first_id_; }
  std::uint64_t count() const { return count_; }
  std::uint64_t file_bytes() const { return file_bytes_; }

 private:
  friend void ingest_chunk(SlotStore&, BulkChunk&, const IndexOp&, const MemoryState&,
                           const std::vector<std::pair<std::string, std::string>>&);
  struct Rep;
  MemoryId memory_;
  std::uint64_t first_id_;
  std::uint64_t count_ = 0;
  std::uint64_t file_bytes_ = 0;
  std::string prefix_;
  std::unique_ptr<Rep> rep_;
};

// Makes `chunk` visible and durable, atomically with the add op `op` (its ids must be the
// chunk's), the memory's new `state` and the `extra_meta` records (key, value; keys must not
// start with "s/"). REQUIRES: chunk.finish() was called; the caller serializes writers of the
// memory. Throws kIOError/kCorruption (and nothing is ingested) when RocksDB refuses.
void ingest_chunk(SlotStore& store, BulkChunk& chunk, const IndexOp& op, const MemoryState& state,
                  const std::vector<std::pair<std::string, std::string>>& extra_meta);

// Meta records outside the catalog (bulk-load job records "j/<id>").
std::optional<std::string> get_meta(const SlotStore& store, const std::string& key);
void put_meta(SlotStore& store, const std::string& key, const std::string& value, bool sync);
void delete_meta(SlotStore& store, const std::string& key, bool sync);
// The job-record key of a memory: "j/" + id (BE).
std::string job_key(MemoryId memory);

// Deletes the slot records with ids in the half-open `ranges` of `memory` in all three slot
// families, logs `ops` (a remove of the ids that were present, if any), writes `state` and
// deletes the meta record `job`, in one synced WriteBatch: the undo of a failed bulk load.
void erase_id_ranges(SlotStore& store, MemoryId memory,
                     const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges,
                     const std::vector<IndexOp>& ops, const MemoryState& state, const std::string& job);

}  // namespace engram::storage
