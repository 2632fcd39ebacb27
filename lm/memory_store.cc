// lm/memory_store.cc — memory configuration and slot storing.
#include "lm/memory_store.h"

#include "engram/error.h"

namespace engram::lm {

MemoryConfig memory_config_for(const ModelConfig& cfg) {
  MemoryConfig mc;
  mc.key_dim = cfg.mem_dim();
  mc.value_dim = cfg.mem_dim();
  mc.metric = Metric::kInnerProduct;
  mc.index = "Flat";
  mc.default_k = cfg.memory_k;
  mc.sync = false;
  mc.cache_values = true;
  return mc;
}

std::shared_ptr<Memory> open_memory(Database& db, const std::string& name, const MemoryConfig& config, bool fresh) {
  if (db.has_memory(name)) {
    if (!fresh) {
      const MemoryConfig mc = db.describe(name);
      if (mc.key_dim != config.key_dim || mc.value_dim != config.value_dim)
        throw Error(ErrorCode::kInvalidArgument,
                    "memory '" + name + "' has key_dim " + std::to_string(mc.key_dim) + " and value_dim " +
                        std::to_string(mc.value_dim) + " but the model needs key_dim " +
                        std::to_string(config.key_dim) + " and value_dim " + std::to_string(config.value_dim));
      return db.memory(name);
    }
    db.drop_memory(name);
  }
  return db.create_memory(name, config);
}

std::shared_ptr<Memory> open_model_memory(Database& db, const std::string& name,
                                          const ModelConfig& cfg, bool fresh) {
  return open_memory(db, name, memory_config_for(cfg), fresh);
}

StoreResult store_slots(MemoryInterface& memory, const float* keys, const float* values,
                        std::size_t rows, std::size_t dim, const std::vector<std::string>& payloads,
                        float refresh_threshold) {
  StoreResult r;
  if (rows == 0) return r;
  std::vector<std::size_t> fresh_rows;
  std::vector<std::size_t> refresh_rows;
  if (refresh_threshold <= 1.0f && memory.count() > 0) {
    const SearchResult s = memory.search(MatrixView(keys, rows, dim), {.k = 1});
    for (std::size_t i = 0; i < rows; ++i)
      (s.ids[i] != kNoSlot && s.scores[i] >= refresh_threshold ? refresh_rows : fresh_rows).push_back(i);
  }
  if (refresh_rows.empty()) {
    r.inserted = memory.insert(MatrixView(keys, rows, dim), MatrixView(values, rows, dim), payloads);
    return r;
  }
  auto gather = [&](const float* src, const std::vector<std::size_t>& idx) {
    std::vector<float> out(idx.size() * dim);
    for (std::size_t i = 0; i < idx.size(); ++i)
      std::copy(src + idx[i] * dim, src + (idx[i] + 1) * dim, out.begin() + i * dim);
    return out;
  };
  const auto qk = gather(keys, refresh_rows), qv = gather(values, refresh_rows);
  memory.write(MatrixView(qk.data(), refresh_rows.size(), dim),
               MatrixView(qv.data(), refresh_rows.size(), dim), 1);
  r.refreshed = refresh_rows.size();
  if (!fresh_rows.empty()) {
    const auto fk = gather(keys, fresh_rows), fv = gather(values, fresh_rows);
    std::vector<std::string> fp;
    if (!payloads.empty())
      for (auto i : fresh_rows) fp.push_back(payloads[i]);
    r.inserted = memory.insert(MatrixView(fk.data(), fresh_rows.size(), dim),
                               MatrixView(fv.data(), fresh_rows.size(), dim), fp);
  }
  return r;
}

}  // namespace engram::lm
