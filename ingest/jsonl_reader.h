// ingest/jsonl_reader.h — JSON Lines records parsed from any std::istream: a file (`engram
// ingest x.jsonl`) or an HTTP request body (`POST …/ingest`), so both read one format one way.
//
// One record per line:
//   {"key": [numbers] | "key_b64": "<base64 float32 LE>",
//    "value": [numbers] | "value_b64": "...",
//    "payload": a string (stored as is) or any other JSON (stored as its text), optional,
//    "id": ignored — slots get new ids (so `engram export` output loads back)}
// Blank lines are skipped. Every error names the source and the line (from 1).
#pragma once

#include <cstdint>
#include <istream>
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

class JsonlReader {
 public:
  // Reads `in` from its current position. Dimensions of 0 are learned from the first record;
  // every record must then have them.
  JsonlReader(std::istream& in, std::string name, std::size_t key_dim = 0, std::size_t value_dim = 0);

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

  std::istream& in_;
  std::string name_;
  std::size_t key_dim_, value_dim_;
  bool dims_given_;
  std::uint64_t line_ = 0, records_ = 0, offset_ = 0;
};

}  // namespace engram::ingest
