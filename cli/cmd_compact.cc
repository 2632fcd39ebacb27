// cmd_compact.cc — `engram compact`: rebuild a memory's index without its tombstones.
#include <memory>

#include <engram/engram.h>

#include "command.h"
#include "ingest/cli_common.h"

namespace {

struct Options {
  std::string data, memory;
};

engram::cli::Registration reg("compact", "Rebuild a memory's index from the store, dropping tombstones", [](CLI::App& cmd) {
  auto o = std::make_shared<Options>();
  cmd.add_option("--data", o->data, "Database folder")->required();
  cmd.add_option("--memory", o->memory, "Memory to compact")->required();
  return [o]() -> int {
    engram::ingest::log_to_stderr();
    auto db = engram::ingest::open_existing(o->data);
    auto mem = db->memory(o->memory);
    const auto before = mem->stats();
    mem->compact();
    const auto after = mem->stats();
    std::printf("compacted '%s': %llu slots, %llu tombstones dropped\n", o->memory.c_str(),
                static_cast<unsigned long long>(after.slots),
                static_cast<unsigned long long>(before.tombstones - after.tombstones));
    return 0;
  };
});

}  // namespace
