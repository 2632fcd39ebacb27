#include "snapshot_root.h"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "errors.h"

namespace engram::server {

namespace fs = std::filesystem;

namespace {
// True when `p` is `root` or below it, comparing whole path components.
bool is_within(const fs::path& root, const fs::path& p) {
  auto r = root.begin(), q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (r->empty()) continue;  // a trailing separator
    if (q == p.end() || *r != *q) return false;
  }
  return true;
}

std::string timestamped(const fs::path& root) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  for (int n = 0;; ++n) {
    const fs::path dir = root / (std::string(stamp) + (n ? "-" + std::to_string(n) : ""));
    if (!fs::exists(dir)) return dir.string();
  }
}
}  // namespace

std::string snapshot_root(const std::string& configured, const std::string& data_dir) {
  const fs::path root = configured.empty() ? fs::path(data_dir) / "snapshots" : fs::path(configured);
  return fs::weakly_canonical(fs::absolute(root)).string();
}

std::string resolve_snapshot_dir(const std::string& root, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) throw HttpError(500, "io_error", "cannot create the snapshot root " + root + ": " + ec.message());
  if (dir.empty()) return timestamped(root);
  const fs::path asked(dir);
  // weakly_canonical resolves "..", "." and the symbolic links of the part that exists, so a
  // link inside the root that points out of it is caught as well.
  const fs::path full = fs::weakly_canonical(asked.is_absolute() ? asked : fs::path(root) / asked, ec);
  if (ec || !is_within(fs::path(root), full) || full == fs::path(root)) {
    throw HttpError(403, "forbidden",
                    "snapshot dir '" + dir + "' is outside the snapshot root " + root +
                        " (give a name inside it, or start the server with another --snapshot-root)");
  }
  return full.string();
}

std::vector<SnapshotEntry> list_snapshots(const std::string& root) {
  std::vector<SnapshotEntry> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(root, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    // A partial snapshot has no marker until it is renamed into place: only whole ones show.
    if (!it->is_directory() || it->path().extension() == ".partial" || !fs::exists(it->path() / "ENGRAM")) continue;
    SnapshotEntry e;
    e.name = it->path().filename().string();
    e.dir = it->path().string();
    std::error_code walk;
    for (auto f = fs::recursive_directory_iterator(it->path(), walk); !walk && f != fs::recursive_directory_iterator();
         f.increment(walk)) {
      if (f->is_regular_file()) e.bytes += f->file_size();
    }
    struct stat st {};
    if (::stat((it->path() / "ENGRAM").c_str(), &st) == 0) e.modified_unix_s = st.st_mtime;  // when it was made
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const SnapshotEntry& a, const SnapshotEntry& b) { return a.name < b.name; });
  return out;
}

}  // namespace engram::server
