// ingest/pipeline.h — a whole ingest: input file → memory, fast, atomic per chunk, resumable.
//
// Three stages on three threads, joined by bounded queues (so memory stays bounded whatever
// the input size):
//   read     parse + validate the next chunk of records (RecordSource)
//   prepare  write the chunk as SST files (BulkLoader::prepare: no lock held)
//   commit   ingest the files atomically with the job record, then add the chunk to the index
//            in one FAISS batch (BulkLoader::commit)
// The job record committed with each chunk holds the input files' identity and the number of
// records done, so a killed ingest resumes exactly after its last visible chunk. Bad input
// anywhere undoes the whole job (BulkLoader::abort): the memory is left as it was.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engram/database.h"
#include "ingest/progress.h"
#include "ingest/record_source.h"

namespace engram::ingest {

struct IngestOptions {
  std::size_t chunk_rows = 0;      // 0: about 64 MiB of keys+values per chunk
  // Chunks waiting between two stages. Row buffers in flight: 3 + 2 × queue_depth chunks
  // (one per stage and one per queue slot), reused from chunk to chunk.
  std::size_t queue_depth = 1;
  bool resume = false;             // finish the interrupted ingest of the same file(s)
  Progress::Mode progress = Progress::Mode::kAuto;
  double progress_every_s = 5.0;   // plain-line mode: seconds between lines
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by SIGINT): stop after the current chunk
  // Called after each committed chunk with the input records now done (tests, embedders).
  std::function<void(std::uint64_t)> on_commit;
};

struct IngestReport {
  std::uint64_t slots = 0;          // slots added by this run
  std::uint64_t records_done = 0;   // records of the input now in the memory (resumed ones too)
  std::uint64_t resumed_from = 0;   // records already done when this run started
  double seconds = 0;               // wall time of this run, until durable and indexed
  // The finish step after that: the job's "done" record and the index checkpoint (so a reopen
  // loads the index rather than rebuilding it). Not part of `seconds`.
  double finish_seconds = 0;
  double train_seconds = 0;
  // Busy time of each stage (they overlap; the largest bounds the run).
  double read_seconds = 0, prepare_seconds = 0, commit_seconds = 0;
  bool interrupted = false;         // stopped by `stop`; resumable
  bool already_done = false;        // --resume of a job that had completed
};

IngestReport ingest(Database& db, std::shared_ptr<Memory> memory, RecordSource& source,
                    const IngestOptions& options);

// Undoes the interrupted ingest of `memory` (every chunk it committed). Throws
// kFailedPrecondition when there is none.
void abort_interrupted(Database& db, std::shared_ptr<Memory> memory);

// Chunk size in rows for `options` and the given dimensions.
std::size_t chunk_rows_for(const IngestOptions& options, std::size_t key_dim, std::size_t value_dim);

}  // namespace engram::ingest
