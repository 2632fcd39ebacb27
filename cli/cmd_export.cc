// cmd_export.cc — `engram export`: a memory back to files (.fvecs keys/values, or .jsonl records).
#include <fstream>
#include <memory>

#include <engram/engram.h>
#include <nlohmann/json.hpp>

#include "command.h"
#include "ingest/cli_common.h"
#include "ingest/vector_file.h"

namespace {

struct Options {
  std::string data, memory, out, values_out;
  std::size_t batch = 4096;
};

engram::cli::Registration reg("export", "Write a memory's slots to .fvecs (keys; --values-out for values) or .jsonl",
                              [](CLI::App& cmd) {
  auto o = std::make_shared<Options>();
  cmd.add_option("--data", o->data, "Database folder")->required();
  cmd.add_option("--memory", o->memory, "Memory to export")->required();
  cmd.add_option("--out", o->out, "keys.fvecs, or records.jsonl ({\"id\",\"key\",\"value\",\"payload\",\"external_id\"} per line)")
      ->required();
  cmd.add_option("--values-out", o->values_out, "With an .fvecs --out: the values, in the same order");
  return [o]() -> int {
    const std::string ext = engram::ingest::extension_of(o->out);
    if (ext != "fvecs" && ext != "jsonl") return engram::ingest::usage_error("export", "--out must end in .fvecs or .jsonl");
    if (ext == "jsonl" && !o->values_out.empty()) {
      return engram::ingest::usage_error("export", "--values-out goes with an .fvecs --out (JSON Lines hold the values)");
    }
    engram::ingest::log_to_stderr();
    auto db = engram::ingest::open_existing(o->data, engram::ingest::Access::kReadOnly);
    auto mem = db->memory(o->memory);
    const auto cfg = mem->config();
    const std::vector<engram::SlotId> ids = mem->list_ids();
    std::unique_ptr<engram::ingest::VecsWriter> keys, values;
    std::ofstream jsonl;
    if (ext == "fvecs") {
      keys = std::make_unique<engram::ingest::VecsWriter>(o->out);
      if (!o->values_out.empty()) values = std::make_unique<engram::ingest::VecsWriter>(o->values_out);
    } else {
      jsonl.open(o->out, std::ios::binary);
      if (!jsonl) throw engram::Error(engram::ErrorCode::kIOError, o->out + ": cannot create");
    }
    for (std::size_t b = 0; b < ids.size(); b += o->batch) {
      std::vector<engram::SlotId> part(ids.begin() + b, ids.begin() + std::min(ids.size(), b + o->batch));
      for (const auto& s : mem->get(part)) {
        if (keys) {
          keys->write_floats(s.key.data(), 1, s.key.size());
          if (values) values->write_floats(s.value.data(), 1, s.value.size());
        } else {
          nlohmann::json rec = {{"id", s.id}, {"key", s.key}, {"value", s.value}};
          if (!s.payload.empty()) rec["payload"] = s.payload;
          if (s.external_id)  // `engram ingest --upsert` loads it back by this id
            rec["external_id"] = engram::ingest::external_id_json(*s.external_id);
          jsonl << rec.dump() << '\n';
        }
      }
    }
    if (keys) keys->close();
    if (values) values->close();
    if (jsonl.is_open()) {
      jsonl.close();
      if (!jsonl) throw engram::Error(engram::ErrorCode::kIOError, o->out + ": write failed");
    }
    std::fprintf(stderr, "exported %zu slots of '%s' (%d → %d) to %s\n", ids.size(), o->memory.c_str(),
                 cfg.key_dim, cfg.value_dim, o->out.c_str());
    return 0;
  };
});

}  // namespace
