// lm/memory_store.h — the memories a model writes to: their configuration, and storing slots
// (insert, or refresh an existing slot with the gated write). Works on any MemoryInterface.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engram/database.h"
#include "engram/memory_interface.h"
#include "lm/model_config.h"

namespace engram::lm {

// key_dim = value_dim = the model's memory width, inner product over unit-length keys (cosine),
// an exact Flat index, and no fsync per insert (a model's memory can be rebuilt from text).
MemoryConfig memory_config_for(const ModelConfig& cfg);

// The memory `name` in `db`: created with `config` if missing (or dropped first when `fresh`);
// an existing one must have its key and value widths (engram::Error(kInvalidArgument) otherwise).
std::shared_ptr<Memory> open_memory(Database& db, const std::string& name, const MemoryConfig& config, bool fresh);

// open_memory with memory_config_for(cfg): the model's token memory.
std::shared_ptr<Memory> open_model_memory(Database& db, const std::string& name,
                                          const ModelConfig& cfg, bool fresh);

struct StoreResult {
  std::vector<SlotId> inserted;  // new slots, in row order
  std::size_t refreshed = 0;     // rows that updated an existing slot instead
};

// Stores `rows` slots. A row whose key's nearest existing key scores >= refresh_threshold
// (cosine; > 1 disables it) refreshes that slot with the gated write(), v ← g·v_new + (1−g)·v,
// instead of adding a near-duplicate slot.
StoreResult store_slots(MemoryInterface& memory, const float* keys, const float* values,
                        std::size_t rows, std::size_t dim, const std::vector<std::string>& payloads,
                        float refresh_threshold = 2.0f);

}  // namespace engram::lm
