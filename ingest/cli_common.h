// ingest/cli_common.h — what the vector subcommands of `engram` share (cli/cmd_ingest.cc,
// cmd_search.cc, cmd_read.cc, cmd_info.cc, cmd_compact.cc, cmd_snapshot.cc, cmd_export.cc).
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engram/database.h"

namespace engram::ingest {

// Logs go to stderr: stdout carries the command's own output (summaries, JSON).
void log_to_stderr();

// Opens an existing database (a missing folder is an error, not a new empty database). The
// commands that only read open it read-only: nothing written, less to do at open.
enum class Access { kReadWrite, kReadOnly };
std::unique_ptr<Database> open_existing(const std::string& dir, Access access = Access::kReadWrite);

// All vectors of a .fvecs/.bvecs/.npy file; throws unless they have `dim` columns.
std::vector<float> read_queries(const std::string& path, std::size_t dim);

// Bytes of the regular files under `dir`.
std::uint64_t folder_bytes(const std::string& dir);

// A caller's id as JSON: the integer, or the string (export and scroll print it).
nlohmann::json external_id_json(const ExternalId& id);

// Prints "engram <cmd>: <msg>" to stderr and returns 2, the usage-error exit status.
int usage_error(const std::string& cmd, const std::string& msg);

}  // namespace engram::ingest
