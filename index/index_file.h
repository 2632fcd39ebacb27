// index/index_file.h — the on-disk checkpoint of an index, and the op-log position it reflects.
//
// Layout (little-endian): "ENGRAMIX" | u32 version (2) | u64 op_seq | u64 payload bytes |
// u64 XXH3-64(payload) | payload (VectorIndex::serialize()). Written to a temporary file, fsynced,
// then renamed over the old one, so a crash leaves either the old checkpoint or the new one.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "index/vector_index.h"

namespace engram::index {

// A checkpoint whose payload is in memory.
struct IndexCheckpoint {
  std::uint64_t op_seq = 0;
  std::vector<std::uint8_t> payload;
};

// Writes the checkpoint of op_seq whose payload `write_payload` streams out (an index's
// serialize_to): the payload never has to fit in memory beside the index.
void write_index_checkpoint(const std::string& path, std::uint64_t op_seq,
                            const std::function<void(ByteSink&)>& write_payload);
void write_index_checkpoint(const std::string& path, const IndexCheckpoint& checkpoint);

// A checkpoint read back: the file mapped read-only, its checksum verified. payload() stays
// valid while this object lives. Mapping rather than reading into a buffer is what keeps a
// reopen close to FAISS's own read_index: no zero-filled buffer, no copy of the whole payload
// before the index parses it — one checksum pass, then the index's own copy.
class MappedCheckpoint {
 public:
  MappedCheckpoint(MappedCheckpoint&& other) noexcept;
  MappedCheckpoint& operator=(MappedCheckpoint&& other) noexcept;
  MappedCheckpoint(const MappedCheckpoint&) = delete;
  MappedCheckpoint& operator=(const MappedCheckpoint&) = delete;
  ~MappedCheckpoint();

  std::uint64_t op_seq() const { return op_seq_; }
  const std::uint8_t* payload() const;
  std::size_t payload_size() const;

 private:
  friend std::optional<MappedCheckpoint> read_index_checkpoint(const std::string& path);
  MappedCheckpoint() = default;
  void* map_ = nullptr;
  std::size_t map_bytes_ = 0;
  std::uint64_t op_seq_ = 0;
};

// nullopt when the file does not exist; throws kCorruption when it exists but fails a check.
std::optional<MappedCheckpoint> read_index_checkpoint(const std::string& path);

}  // namespace engram::index
