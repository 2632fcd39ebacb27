// ingest/upsert.h — `engram ingest --upsert`: records inserted or replaced by their external_id.
//
// Each chunk of records is one Memory::upsert(): atomic, and idempotent — a slot whose
// external_id exists is replaced, the others are inserted — so an interrupted run is finished by
// running it again from the start, and running the same ingestion twice leaves one copy of each
// record. (The bulk pipeline of pipeline.h writes new slots only: it is faster, and resumes by
// its job record.)
#pragma once

#include <memory>

#include "engram/memory.h"
#include "ingest/pipeline.h"

namespace engram::ingest {

// Reads `source` to its end in chunks of chunk_rows_for(options) rows. Throws kInvalidArgument
// naming the first record without an external_id (nothing of its chunk is written). Uses
// options.chunk_rows, .progress, .progress_every_s, .stop and .on_commit.
IngestReport upsert_records(Memory& memory, RecordSource& source, const IngestOptions& options);

}  // namespace engram::ingest
