// ingest/jsonl_reader.h — JSON Lines records parsed from any std::istream: a file (`engram
// ingest x.jsonl`) or an HTTP request body (`POST …/ingest`), so both read one format one way.
//
// One record per line:
//   {"key": [numbers] | "key_b64": "<base64 float32 LE>",
//    "value": [numbers] | "value_b64": "...",
//    "payload": a string (stored as is) or any other JSON (stored as its text), optional,
//    "external_id": the caller's id of the slot, an integer >= 0 or a string, optional
//                   (`engram ingest --upsert` needs it: it decides which slots are replaced),
//    "id": ignored — slots get new ids (so `engram export` output loads back)}
// Blank lines are skipped. Every error names the source and the line (from 1).
//
// A line is held whole while it is parsed, so its length is bounded (max_line_bytes): a longer
// line is refused after limit + 1 bytes of it have been read, never buffered whole.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "engram/error.h"
#include "ingest/record_source.h"

namespace engram::ingest {

// A record that is not well-formed: not JSON, not an object, an unknown field, a wrong type.
// (Dimension mismatches and NaN/Inf are plain kInvalidArgument errors: well-formed but refused.)
// The server answers the first with 400 and the second with 422.
class MalformedRecord : public Error {
 public:
  explicit MalformedRecord(const std::string& message) : Error(ErrorCode::kInvalidArgument, message) {}
};

// A line longer than the reader's limit. (An engram::Error of kInvalidArgument; the server
// answers it 413: the record is too large, not malformed.)
class LineTooLong : public Error {
 public:
  explicit LineTooLong(const std::string& message) : Error(ErrorCode::kInvalidArgument, message) {}
};

// The line limit when none is given: room for the key and the value as JSON numbers at full
// precision — nlohmann writes a float in at most 24 characters ("-1.1754943508222875e-38"), so
// 32 bytes a number leaves room for separators and spaces, and `engram export` output always
// loads back — plus 1 MiB for the payload, the field names and whitespace. A dimension not known
// yet (a file's first record) counts as the largest a memory may have (65536), which makes the
// limit 5 MiB. Larger payloads need a larger limit or the binary format.
std::size_t default_max_line_bytes(std::size_t key_dim, std::size_t value_dim);

class JsonlReader {
 public:
  // Reads `in` from its current position. Dimensions of 0 are learned from the first record;
  // every record must then have them. max_line_bytes 0: default_max_line_bytes() of the
  // dimensions (as far as they are known).
  JsonlReader(std::istream& in, std::string name, std::size_t key_dim = 0, std::size_t value_dim = 0,
              std::size_t max_line_bytes = 0);

  // Up to max_rows records into *out (its previous contents replaced; payloads left empty when
  // no record had one). Returns false when no record was left.
  bool next(std::size_t max_rows, Batch* out);

  // The owner repositioned the stream at a record boundary: continue the counts from there.
  void reset_position(std::uint64_t records, std::uint64_t offset, std::uint64_t line);

  std::size_t key_dim() const { return key_dim_; }
  std::size_t value_dim() const { return value_dim_; }
  std::uint64_t records() const { return records_; }  // records read so far
  std::uint64_t offset() const { return offset_; }    // bytes consumed so far

 private:
  void append(const nlohmann::json& rec, const char* field, const std::string& where, std::size_t* dim,
              std::vector<float>* out);
  // The next line into line_ (without its '\n'); false at the end of the input.
  bool read_line(std::size_t* length);

  std::istream& in_;
  std::string name_;
  std::size_t key_dim_, value_dim_;
  bool dims_given_;
  const std::size_t max_line_bytes_;  // 0: the default for the dimensions
  std::unique_ptr<char[]> line_buf_;  // limit + 1 bytes, allocated uninitialised (untouched pages cost nothing)
  std::size_t line_buf_size_ = 0;
  std::uint64_t line_ = 0, records_ = 0, offset_ = 0;
};

}  // namespace engram::ingest
