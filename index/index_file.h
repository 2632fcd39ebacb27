// index/index_file.h — the on-disk checkpoint of an index, and the op-log position it reflects.
//
// Layout (little-endian): "ENGRAMIX" | u32 version (2) | u64 op_seq | u64 payload bytes |
// u64 XXH3-64(payload) | payload (VectorIndex::serialize()). Written to a temporary file, fsynced,
// then renamed over the old one, so a crash leaves either the old checkpoint or the new one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace engram::index {

struct IndexCheckpoint {
  std::uint64_t op_seq = 0;
  std::vector<std::uint8_t> payload;
};

void write_index_checkpoint(const std::string& path, const IndexCheckpoint& checkpoint);

// nullopt when the file does not exist; throws kCorruption when it exists but fails a check.
std::optional<IndexCheckpoint> read_index_checkpoint(const std::string& path);

}  // namespace engram::index
