// engram/bulk_load.h — loading many slots fast, atomically per chunk, resumably.
//
//   engram::BulkLoader loader(*db, db->memory("facts"));
//   loader.train(sample);                                    // IVF/PQ: train before loading
//   for (each chunk of rows) {
//     auto files = loader.prepare(std::move(keys), std::move(values));  // any thread, no lock
//     loader.commit(std::move(files), "my resume state");    // visible + durable, whole
//   }
//   loader.finish();
//
// prepare() validates the rows and writes them as sorted files (RocksDB SST) outside every lock;
// commit() ingests a chunk's files together with its op-log record, the memory's state record
// and the job record (the caller's resume state) in ONE atomic step, then adds the chunk to the
// index in one batch. A chunk is therefore visible and durable whole or not at all, and after a
// crash the job record says exactly which chunks made it (docs/durability.md, "Bulk loads").
//
// prepare() and commit() may run on two different threads at once (a pipeline); each of them
// one call at a time. Other writers of the memory may run concurrently (a chunk whose ids they
// took is rewritten at commit). One loader per memory at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engram/types.h"

namespace engram {

class Database;
class Memory;

// A chunk's rows written to files, ready for BulkLoader::commit(). Move-only.
class PreparedChunk {
 public:
  PreparedChunk();
  ~PreparedChunk();  // deletes the files unless committed
  PreparedChunk(PreparedChunk&&) noexcept;
  PreparedChunk& operator=(PreparedChunk&&) noexcept;
  std::size_t rows() const;
  std::uint64_t file_bytes() const;  // bytes of the chunk's files

 private:
  friend class BulkLoader;
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

// The row buffers of a committed chunk, handed back by BulkLoader::commit() so that the caller
// can fill them with the next chunk: their memory is reused (no fresh pages to fault in).
struct ChunkBuffers {
  std::vector<float> keys, values;
  std::vector<std::string> payloads;
};

struct BulkCommit {
  SlotId first_id = kNoSlot;  // the chunk's ids are first_id .. first_id + rows - 1
  std::size_t rows = 0;
};

class BulkLoader {
 public:
  // A loader for `memory` of `db`. An interrupted load leaves a job record in the memory: with
  // resume = false that throws kFailedPrecondition (so a load is never silently doubled); with
  // resume = true the loader adopts it (pending_job() returns its state, abort() undoes it all).
  BulkLoader(Database& db, std::shared_ptr<Memory> memory, bool resume = false);
  ~BulkLoader();
  BulkLoader(const BulkLoader&) = delete;
  BulkLoader& operator=(const BulkLoader&) = delete;

  // The caller's state stored by the last commit of the adopted interrupted load, if any.
  const std::optional<std::string>& pending_job() const;
  // The state the last completed load of this memory passed to finish(), if any (so a caller can
  // tell "that job is already done" from "never started").
  const std::optional<std::string>& finished_job() const;

  // Trains an index type that needs training (IVF, PQ) on `sample` and indexes what is stored,
  // so that chunks are indexed as they commit. No-op if trained or untrainable (Flat, HNSW).
  // Throws kFailedPrecondition when the sample is smaller than the index needs.
  void train(MatrixView sample);
  // The number of sample rows train() wants: the memory's auto-train threshold (0: none needed).
  std::size_t wanted_sample_rows() const;

  // Sizes the memory's value cache for `rows` more slots up front (a load of known size), so it
  // does not grow by reallocation while chunks commit. Optional.
  void reserve(std::size_t rows);

  // Validates (dimensions, finite numbers, one payload per row or none) and writes the rows to
  // files. keys: rows × key_dim, values: rows × value_dim. Throws kInvalidArgument naming the
  // first bad row; nothing is written then (files begun are deleted). The keys and the values
  // files are written on two threads.
  PreparedChunk prepare(std::vector<float> keys, std::vector<float> values,
                        std::vector<std::string> payloads = {});

  // Makes the chunk visible and durable in one atomic step, records `job_state` (any string:
  // the caller's resume point) as the memory's job record in that same step, and indexes it.
  BulkCommit commit(PreparedChunk chunk, const std::string& job_state);
  // The same, then moves the chunk's row buffers into *spent (cleared, capacity kept) for reuse.
  BulkCommit commit(PreparedChunk chunk, const std::string& job_state, ChunkBuffers* spent);

  // The load is complete: replaces the job record (synced) by a "done" record holding
  // `final_state`, and checkpoints the index.
  void finish(const std::string& final_state = {});
  // Undoes every chunk this job committed (including those of the adopted interrupted load) and
  // deletes the job record: the memory holds what it held before the job.
  void abort();

  std::uint64_t committed_rows() const;

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace engram
