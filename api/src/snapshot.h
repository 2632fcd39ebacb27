// api/src/snapshot.h — the snapshot of a database, shared by Database::snapshot and
// Memory::snapshot (which reaches its database through a weak pointer).
#pragma once

#include <string>
#include <vector>

namespace engram::detail {

class DatabaseCore;

// See Database::snapshot. `memories` empty: every memory.
void snapshot_database(DatabaseCore& database, const std::string& dir, const std::vector<std::string>& memories);

}  // namespace engram::detail
