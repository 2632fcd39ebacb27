// ingest/stream_source.h — records from a stream read once, front to back: the body of an HTTP
// `POST …/ingest` as it arrives. It feeds the same pipeline as a file (ingest/pipeline.h).
//
// Two formats:
//   kJsonLines  one JSON record per line (jsonl_reader.h)
//   kBinary     records back to back, each
//                 key    key_dim   × float32, little-endian
//                 value  value_dim × float32, little-endian
//                 u32    payload length in bytes, little-endian (0: no payload)
//                 the payload's bytes
// The dimensions are the memory's (a stream cannot be rewound to learn them). A stream cannot
// seek: a resume (skip_to) reads and drops the records already done, and a training sample
// (sample_keys) is the stream's first rows, held back and handed out again by next().
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <string>

#include "ingest/record_source.h"

namespace engram::ingest {

enum class StreamFormat { kJsonLines, kBinary };

// Largest payload a binary record may carry.
inline constexpr std::uint32_t kMaxStreamPayloadBytes = 16u << 20;

// `name` prefixes every error ("request body: line 7: ..."); `total_bytes` is the stream's
// announced length if known (0 otherwise): with the name, it is the job's identity for a resume.
// max_line_bytes bounds a JSON Lines line (0: default_max_line_bytes() of the dimensions).
std::unique_ptr<RecordSource> open_stream(std::istream& in, StreamFormat format, std::size_t key_dim,
                                          std::size_t value_dim, std::uint64_t total_bytes,
                                          const std::string& name, std::size_t max_line_bytes = 0);

}  // namespace engram::ingest
