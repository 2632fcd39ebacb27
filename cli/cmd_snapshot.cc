// cmd_snapshot.cc — `engram snapshot`: a consistent, openable copy of a database.
#include <memory>
#include <string>
#include <vector>

#include <engram/engram.h>
#include <spdlog/spdlog.h>

#include "command.h"
#include "ingest/cli_common.h"

namespace {

struct Options {
  std::string data, out;
  std::vector<std::string> memories;
};

engram::cli::Registration reg("snapshot", "Write a consistent, openable copy of a database to a new folder", [](CLI::App& cmd) {
  auto o = std::make_shared<Options>();
  cmd.add_option("--data", o->data, "Database folder")->required();
  cmd.add_option("--out", o->out, "Folder to create (must not exist)")->required();
  cmd.add_option("--memory", o->memories, "Copy only this memory (repeat for several; default: all)");
  return [o]() -> int {
    engram::ingest::log_to_stderr();
    auto db = engram::ingest::open_existing(o->data);
    for (const auto& name : db->list_memories()) {
      try {
        db->memory(name);  // open: their indexes get checkpointed
      } catch (const engram::Error& e) {
        // One that cannot be opened is copied as it is on disk (its store and its last checkpoint).
        if (e.code() == engram::ErrorCode::kNotFound) throw;
        spdlog::warn("{}", e.what());
      }
    }
    db->snapshot(o->out, o->memories);
    std::printf("snapshot of %s written to %s\n", o->data.c_str(), o->out.c_str());
    return 0;
  };
});

}  // namespace
