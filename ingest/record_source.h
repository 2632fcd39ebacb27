// ingest/record_source.h — where an ingest's records come from: a keys file with a paired
// values file (.fvecs/.bvecs/.npy), or one JSON Lines file of whole records.
//
// A source hands out batches in file order, can restart at any record (resume), and draws a
// training sample. Every problem is an engram::Error naming the file and the record (vector
// files: record numbers from 1; JSON Lines: line numbers from 1).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engram/types.h"

namespace engram::ingest {

struct Batch {
  std::vector<float> keys, values;   // rows × key_dim, rows × value_dim
  std::vector<std::string> payloads; // rows entries, or empty when no record has one
  // The caller's ids ("external_id" of JSON Lines records), in record order, skipping records
  // without one; `missing_id` is the first record (from 1) without one, 0 when all have one.
  std::vector<ExternalId> external_ids;
  std::uint64_t missing_id = 0;
  std::size_t rows = 0;
  std::uint64_t records_end = 0;     // records consumed from the start of the file after this batch
  std::uint64_t offset_end = 0;      // bytes consumed likewise (JSON Lines resume point)
};

// Identity of an input file, stored in the job record: a resume must read the same bytes.
struct FileIdentity {
  std::string path;  // absolute
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileIdentity& o) const { return size == o.size && mtime_ns == o.mtime_ns; }
};
FileIdentity identify(const std::string& path);

class RecordSource {
 public:
  // FILE by extension; values_path is required for vector files and refused for .jsonl.
  // max_line_bytes bounds a JSON Lines line (0: default_max_line_bytes(), jsonl_reader.h).
  static std::unique_ptr<RecordSource> open(const std::string& path, const std::string& values_path,
                                            std::size_t max_line_bytes = 0);
  virtual ~RecordSource() = default;

  virtual std::size_t key_dim() const = 0;
  virtual std::size_t value_dim() const = 0;
  virtual std::optional<std::uint64_t> total_records() const = 0;  // unknown for JSON Lines
  virtual std::uint64_t total_bytes() const = 0;
  virtual std::vector<FileIdentity> files() const = 0;
  // What was converted on the way in, for the summary: "keys float64 -> float32" (empty: the
  // input was float32 throughout).
  virtual std::string conversion() const { return ""; }

  // The next up to max_rows records; false at the end of the input.
  virtual bool next(std::size_t max_rows, Batch* out) = 0;
  // Continue after `records` records (which end at byte `offset`).
  virtual void skip_to(std::uint64_t records, std::uint64_t offset) = 0;
  // Up to n keys spread over the input (n × key_dim floats), for training an index. Leaves the
  // position where it was.
  virtual std::vector<float> sample_keys(std::size_t n) = 0;
};

}  // namespace engram::ingest
