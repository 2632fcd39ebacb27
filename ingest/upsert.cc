#include "ingest/upsert.h"

#include "engram/error.h"
#include "ingest/progress.h"

namespace engram::ingest {

IngestReport upsert_records(Memory& memory, RecordSource& source, const IngestOptions& o) {
  IngestReport report;
  const MemoryConfig cfg = memory.config();
  Progress progress(o.progress, source.total_records(), source.total_bytes(), stderr, o.progress_every_s);
  const std::size_t rows = chunk_rows_for(o, source.key_dim(), source.value_dim());
  const std::uint64_t before = memory.count();
  Batch b;
  while (!(o.stop && o.stop->load()) && source.next(rows, &b)) {
    if (b.missing_id != 0) {
      throw Error(ErrorCode::kInvalidArgument, "record " + std::to_string(b.missing_id) +
                                                   " has no \"external_id\": --upsert replaces slots by it");
    }
    if (b.external_ids.size() != b.rows) {
      throw Error(ErrorCode::kInvalidArgument, "--upsert needs JSON Lines records with an \"external_id\" each");
    }
    memory.upsert(b.external_ids, MatrixView(b.keys, static_cast<std::size_t>(cfg.key_dim)),
                  MatrixView(b.values, static_cast<std::size_t>(cfg.value_dim)), b.payloads);
    report.records_done = b.records_end;
    progress.update(report.records_done, b.offset_end);
    if (o.on_commit) o.on_commit(report.records_done);
  }
  report.interrupted = o.stop && o.stop->load();
  progress.finish();
  report.seconds = progress.seconds();
  report.slots = memory.count() - before;  // new slots; replaced ones are not counted
  return report;
}

}  // namespace engram::ingest
