// cmd_drop.cc — `engram drop`: delete a memory and all its slots, including one that cannot be
// opened (a config an older version accepted): dropping never opens the memory.
#include <memory>

#include <engram/engram.h>

#include "command.h"
#include "ingest/cli_common.h"

namespace {

struct Options {
  std::string data, memory;
};

engram::cli::Registration reg("drop", "Delete a memory and all its slots (it need not be openable)", [](CLI::App& cmd) {
  auto o = std::make_shared<Options>();
  cmd.add_option("--data", o->data, "Database folder")->required();
  cmd.add_option("--memory", o->memory, "Memory to delete")->required();
  return [o]() -> int {
    engram::ingest::log_to_stderr();
    auto db = engram::ingest::open_existing(o->data);
    db->drop_memory(o->memory);
    std::printf("dropped '%s'\n", o->memory.c_str());
    return 0;
  };
});

}  // namespace
