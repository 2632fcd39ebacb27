// cmd_restore.cc — `engram restore`: make a database folder from a snapshot (engram snapshot,
// POST /v1/snapshot). The snapshot is copied, not moved, so it can be restored again.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <engram/engram.h>

#include "command.h"
#include "ingest/cli_common.h"

namespace {

namespace fs = std::filesystem;

struct Options {
  std::string snapshot, data;
};

// A folder Database::snapshot finished: its marker is there and the partial marker is gone
// (a snapshot still being written lives under "<dir>.partial" with it).
void check_snapshot(const fs::path& dir) {
  if (!fs::is_directory(dir) || !fs::exists(dir / "ENGRAM") || !fs::is_directory(dir / "store")) {
    throw engram::Error(engram::ErrorCode::kInvalidArgument, dir.string() + " is not an Engram snapshot");
  }
  if (fs::exists(dir / "ENGRAM-PARTIAL-SNAPSHOT") || dir.extension() == ".partial") {
    throw engram::Error(engram::ErrorCode::kInvalidArgument, dir.string() + " is an unfinished snapshot");
  }
}

engram::cli::Registration reg("restore", "Make a database folder from a snapshot (the snapshot stays as it is)",
                              [](CLI::App& cmd) {
  auto o = std::make_shared<Options>();
  cmd.add_option("snapshot", o->snapshot, "Snapshot folder (engram snapshot --out, or a dir GET /v1/snapshots lists)")
      ->required();
  cmd.add_option("--data", o->data, "Database folder to create (must not exist, or be empty)")->required();
  return [o]() -> int {
    engram::ingest::log_to_stderr();
    const fs::path from = fs::absolute(o->snapshot), to = fs::absolute(o->data);
    check_snapshot(from);
    std::error_code ec;
    if (fs::exists(to, ec) && !fs::is_empty(to, ec)) {
      throw engram::Error(engram::ErrorCode::kAlreadyExists, o->data + " exists and is not empty");
    }
    // Copied beside the target and renamed into place, so a restore that stops halfway leaves
    // no folder that looks like a database.
    const fs::path partial = to.string() + ".restoring";
    fs::remove_all(partial, ec);
    fs::copy(from, partial, fs::copy_options::recursive, ec);
    if (ec) {
      fs::remove_all(partial);
      throw engram::Error(engram::ErrorCode::kIOError, "cannot copy " + from.string() + ": " + ec.message());
    }
    fs::remove(to, ec);  // the empty folder, if there was one
    fs::rename(partial, to, ec);
    if (ec) throw engram::Error(engram::ErrorCode::kIOError, "cannot rename " + partial.string() + ": " + ec.message());
    // Open it as a database would be: every memory loads (its index from the snapshot's checkpoint).
    auto db = engram::ingest::open_existing(to.string());
    std::uint64_t slots = 0;
    const auto names = db->list_memories();
    for (const auto& name : names) slots += db->memory(name)->count();
    std::printf("restored %s to %s: %zu memories, %llu slots\n", from.c_str(), to.c_str(), names.size(),
                static_cast<unsigned long long>(slots));
    return 0;
  };
});

}  // namespace
