// cmd_info.cc — `engram info`: what a database holds (memories, counts, dims, index, bytes).
#include <memory>

#include <engram/engram.h>
#include <nlohmann/json.hpp>

#include "command.h"
#include "ingest/cli_common.h"

namespace {

struct Options {
  std::string data, memory;
  bool json = false;
};

engram::cli::Registration reg("info", "Memories of a database: slots, dimensions, index, bytes on disk", [](CLI::App& cmd) {
  auto o = std::make_shared<Options>();
  cmd.add_option("--data", o->data, "Database folder")->required();
  cmd.add_option("--memory", o->memory, "Only this memory (default: all)");
  cmd.add_flag("--json", o->json, "One JSON object instead of text");
  return [o]() -> int {
    engram::ingest::log_to_stderr();
    auto db = engram::ingest::open_existing(o->data, engram::ingest::Access::kReadOnly);
    std::vector<std::string> names = o->memory.empty() ? db->list_memories() : std::vector<std::string>{o->memory};
    nlohmann::json out = {{"path", o->data}, {"disk_bytes", db->disk_bytes()}, {"memories", nlohmann::json::array()}};
    for (const auto& name : names) {
      std::shared_ptr<engram::Memory> mem;
      try {
        mem = db->memory(name);  // opening it recovers its index: the counts are live ones
      } catch (const engram::Error& e) {
        // One memory that cannot be opened (its index cannot be built or loaded) is reported as
        // such; the others are still described. An unknown --memory is still an error.
        if (e.code() == engram::ErrorCode::kNotFound) throw;
        out["memories"].push_back({{"name", name}, {"state", "unavailable"}, {"error", e.what()}});
        continue;
      }
      const auto c = mem->config();
      const auto s = mem->stats();
      out["memories"].push_back({{"name", name}, {"state", s.trained ? "ready" : "untrained"},
                                 {"slots", s.slots}, {"indexed", s.indexed},
                                 {"tombstones", s.tombstones}, {"trained", s.trained},
                                 {"key_dim", c.key_dim}, {"value_dim", c.value_dim},
                                 {"metric", engram::metric_name(c.metric)}, {"index", c.index},
                                 {"next_id", s.next_id}, {"op_seq", s.op_seq}});
    }
    if (o->json) {
      std::printf("%s\n", out.dump(2).c_str());
      return 0;
    }
    std::printf("database %s: %zu memories, %llu bytes on disk\n", o->data.c_str(), names.size(),
                static_cast<unsigned long long>(db->disk_bytes()));
    for (const auto& m : out["memories"]) {
      if (m["state"] == "unavailable") {
        std::printf("  %s: unavailable: %s\n", m["name"].get<std::string>().c_str(),
                    m["error"].get<std::string>().c_str());
        continue;
      }
      std::printf("  %s: %llu slots (%llu indexed, %llu tombstones%s), keys %d → values %d, %s, index %s\n",
                  m["name"].get<std::string>().c_str(), m["slots"].get<unsigned long long>(),
                  m["indexed"].get<unsigned long long>(), m["tombstones"].get<unsigned long long>(),
                  m["trained"].get<bool>() ? "" : ", untrained", m["key_dim"].get<int>(),
                  m["value_dim"].get<int>(), m["metric"].get<std::string>().c_str(),
                  m["index"].get<std::string>().c_str());
    }
    return 0;
  };
});

}  // namespace
