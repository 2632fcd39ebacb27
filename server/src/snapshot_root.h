// snapshot_root.h — where the HTTP API may write snapshots: inside one configured folder.
//
// A token holder names a snapshot's `dir`; without a root it could have the server copy the
// database to any path the server can write. Every `dir` is resolved inside the root (a
// relative one under it, an absolute one must already lie in it), and the listing shows what
// the root holds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace engram::server {

// The root a server uses: `configured`, else <data>/snapshots. Absolute and normalised.
std::string snapshot_root(const std::string& configured, const std::string& data_dir);

// The absolute path for `dir` inside `root`; empty `dir`: a new name from the UTC time
// (<root>/<YYYYmmddTHHMMSSZ>[-n]). Throws HttpError 403 when `dir` escapes the root (an absolute
// path elsewhere, "..", a symbolic link that points out of it) or names the root itself.
std::string resolve_snapshot_dir(const std::string& root, const std::string& dir);

struct SnapshotEntry {
  std::string name;  // the folder's path relative to the root
  std::string dir;   // absolute
  std::uint64_t bytes = 0;
  std::int64_t modified_unix_s = 0;
};
// The complete snapshots directly inside `root` (folders holding Engram's marker file), by name.
std::vector<SnapshotEntry> list_snapshots(const std::string& root);

}  // namespace engram::server
