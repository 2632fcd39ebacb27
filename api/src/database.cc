// engram::Database: the folder, its lock, the catalog of memories and their open objects.
//
// Folder layout (docs/durability.md, "The folder"):
//   ENGRAM          marker + format version, written first
//   store/          the RocksDB database (source of truth; its LOCK file is the process lock)
//   index/<id>.idx  one index checkpoint per memory
#include "engram/database.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "api/src/memory_core.h"
#include "api/src/snapshot.h"
#include "index/trial_build.h"
#include "engram/error.h"

namespace fs = std::filesystem;

namespace engram {
namespace detail {

constexpr char kMarkerFile[] = "ENGRAM";
constexpr char kMarkerText[] = "engram database, format 1\n";

class DatabaseCore {
 public:
  DatabaseCore(std::string path, DatabaseOptions options)
      : path_(std::move(path)), options_(options) {}

  std::string path_;
  DatabaseOptions options_;
  std::unique_ptr<storage::SlotStore> store_;
  std::mutex mu_;  // guards open_
  std::map<std::string, std::shared_ptr<Memory>> open_;

  std::string index_path(storage::MemoryId id) const {
    return (fs::path(path_) / "index" / (std::to_string(id) + ".idx")).string();
  }

  // The background checkpointer (DatabaseOptions::checkpoint_every_*): wakes every second and
  // checkpoints the open memories whose triggers fired, so that the op log a crash leaves to
  // replay stays short however the process stops.
  void start_checkpointer() {
    if (options_.checkpoint_every_ops == 0 && options_.checkpoint_every_slots == 0 &&
        options_.checkpoint_interval_s <= 0)
      return;
    checkpointer_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(stop_mu_);
      while (!stop_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
        lock.unlock();
        checkpoint_due_memories();
        lock.lock();
      }
    });
  }
  void stop_checkpointer() {
    {
      std::lock_guard<std::mutex> lock(stop_mu_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();
  }

 private:
  void checkpoint_due_memories() {
    if (!store_->read_only_reason().empty()) return;  // a full disk: nothing could be written
    std::vector<std::shared_ptr<Memory>> open;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [name, memory] : open_) open.push_back(memory);
    }
    for (const auto& memory : open) {
      try {
        memory->core_->checkpoint_if_due();
      } catch (const std::exception& e) {
        // Nothing is lost (the op log still holds every change); the next wake tries again.
        spdlog::warn("memory '{}': background checkpoint failed ({})", memory->core_->name(), e.what());
      }
    }
  }

  std::thread checkpointer_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

namespace {

void check_name(const std::string& name) {
  static const std::regex ok("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  if (!std::regex_match(name, ok)) {
    throw Error(ErrorCode::kInvalidArgument,
                "invalid memory name '" + name + "': use 1-128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'");
  }
}

void prepare_folder(const std::string& path, bool create_if_missing) {
  std::error_code ec;
  const fs::path dir(path);
  if (!fs::exists(dir, ec)) {
    if (!create_if_missing) throw Error(ErrorCode::kNotFound, "no database at " + path);
    fs::create_directories(dir, ec);
    if (ec) throw Error(ErrorCode::kIOError, "cannot create " + path + ": " + ec.message());
  } else if (!fs::is_directory(dir, ec)) {
    throw Error(ErrorCode::kInvalidArgument, path + " is not a folder, so not an Engram database");
  }
  const fs::path marker = dir / kMarkerFile;
  if (fs::exists(marker, ec)) {
    std::ifstream in(marker);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text != kMarkerText) {
      throw Error(ErrorCode::kInvalidArgument, path + " holds an unknown Engram format: " + text);
    }
  } else {
    if (!fs::is_empty(dir, ec)) {
      throw Error(ErrorCode::kInvalidArgument,
                  path + " is not an Engram database (it has files but no " + kMarkerFile + " file)");
    }
    if (!create_if_missing) throw Error(ErrorCode::kNotFound, "no database at " + path);
    std::ofstream out(marker);
    out << kMarkerText;
    out.close();
    if (!out) throw Error(ErrorCode::kIOError, "cannot write " + marker.string());
  }
  fs::create_directories(dir / "index", ec);
  if (ec) throw Error(ErrorCode::kIOError, "cannot create " + (dir / "index").string() + ": " + ec.message());
}

}  // namespace
}  // namespace detail

Database::Database(std::shared_ptr<detail::DatabaseCore> core) : core_(std::move(core)) {}

std::unique_ptr<Database> Database::open(const std::string& path, const DatabaseOptions& options) {
  detail::prepare_folder(path, options.create_if_missing && !options.read_only);
  auto core = std::make_shared<detail::DatabaseCore>(path, options);
  storage::StoreOptions so;
  so.block_cache_bytes = options.block_cache_bytes;
  so.create_if_missing = !options.read_only;  // the marker exists, so the store belongs here
  so.min_free_bytes = options.min_free_disk_bytes;
  so.read_only = options.read_only;
  core->store_ = storage::SlotStore::open((fs::path(path) / "store").string(), so);
  if (!options.read_only) core->start_checkpointer();
  return std::unique_ptr<Database>(new Database(core));
}

Database::~Database() {
  core_->stop_checkpointer();
  std::lock_guard<std::mutex> lock(core_->mu_);
  for (auto& [name, memory] : core_->open_) {
    (void)name;
    memory->core_->close(/*write_checkpoint=*/true);
  }
  core_->open_.clear();
  core_->store_.reset();
}

const std::string& Database::path() const { return core_->path_; }

std::shared_ptr<Memory> Database::create_memory(const std::string& name, const MemoryConfig& config) {
  detail::check_name(name);
  validate(config);
  // Try the index before recording anything, in a child process: a string that FAISS accepts
  // but that would crash, hang or exhaust memory on the first insert changes nothing here.
  index::trial_build(index::index_spec_of(config));
  std::lock_guard<std::mutex> lock(core_->mu_);
  const storage::CatalogEntry entry = core_->store_->create_memory(name, config_to_json(config));
  std::error_code ec;
  fs::remove(core_->index_path(entry.id), ec);  // a stale file of a dropped memory with this id
  auto memory = std::make_shared<Memory>(detail::MemoryCore::open(core_->store_.get(), entry, config,
                                                                  core_->index_path(entry.id), core_->options_),
                                         core_);
  core_->open_[name] = memory;
  spdlog::info("created memory '{}' ({}, {}x{}, {})", name, config.index, config.key_dim,
               config.value_dim, metric_name(config.metric));
  return memory;
}

std::shared_ptr<Memory> Database::memory(const std::string& name) {
  std::lock_guard<std::mutex> lock(core_->mu_);
  auto it = core_->open_.find(name);
  if (it != core_->open_.end()) return it->second;
  auto entry = core_->store_->find_memory(name);
  if (!entry) throw Error(ErrorCode::kNotFound, "no memory named '" + name + "'");
  try {
    const MemoryConfig config = config_from_json(entry->config_json);
    auto memory = std::make_shared<Memory>(detail::MemoryCore::open(core_->store_.get(), *entry, config,
                                                                    core_->index_path(entry->id), core_->options_),
                                           core_);
    core_->open_[name] = memory;
    return memory;
  } catch (const Error& e) {
    // One memory that cannot be opened (a config an older version accepted, a store it cannot
    // read, an index that fails to train on its keys) is reported as such; the database and its
    // other memories go on, and it can be dropped.
    if (e.code() != ErrorCode::kInvalidArgument && e.code() != ErrorCode::kCorruption &&
        e.code() != ErrorCode::kFailedPrecondition && e.code() != ErrorCode::kInternal)
      throw;
    throw Error(ErrorCode::kFailedPrecondition, "memory '" + name + "' cannot be opened (" + e.what() +
                                                    "); drop it to remove it");
  }
}

bool Database::has_memory(const std::string& name) const {
  return core_->store_->find_memory(name).has_value();
}

std::vector<std::string> Database::list_memories() const {
  std::vector<std::string> names;
  for (const auto& e : core_->store_->list_memories()) names.push_back(e.name);
  return names;
}

MemoryConfig Database::describe(const std::string& name) const {
  auto entry = core_->store_->find_memory(name);
  if (!entry) throw Error(ErrorCode::kNotFound, "no memory named '" + name + "'");
  return config_from_json(entry->config_json);
}

void Database::drop_memory(const std::string& name) {
  std::lock_guard<std::mutex> lock(core_->mu_);
  auto entry = core_->store_->find_memory(name);
  if (!entry) throw Error(ErrorCode::kNotFound, "no memory named '" + name + "'");
  auto it = core_->open_.find(name);
  if (it != core_->open_.end()) {
    it->second->core_->close(/*write_checkpoint=*/false);
    core_->open_.erase(it);
  }
  core_->store_->drop_memory(*entry);
  std::error_code ec;
  fs::remove(core_->index_path(entry->id), ec);
  spdlog::info("dropped memory '{}'", name);
}

namespace {
// A snapshot is written to "<dir>.partial" and renamed to `dir` when complete, so `dir` is
// either absent or a whole snapshot. The marker tells a partial folder of ours from anything
// else that could have that name; only folders carrying it are ever deleted.
constexpr char kPartialMarker[] = "ENGRAM-PARTIAL-SNAPSHOT";

std::string partial_path(const std::string& dir) {
  fs::path p = fs::path(dir);
  if (!p.has_filename()) p = p.parent_path();  // "snap/" names the folder "snap"
  return p.string() + ".partial";
}

// Removes a partial snapshot left by a process that died while writing it (ours only).
void remove_stale_partial(const std::string& partial) {
  std::error_code ec;
  if (!fs::exists(partial, ec)) return;
  if (!fs::exists(fs::path(partial) / kPartialMarker, ec))
    throw Error(ErrorCode::kAlreadyExists, partial + " exists and is not a partial Engram snapshot");
  spdlog::warn("removing {} left by an interrupted snapshot", partial);
  fs::remove_all(partial, ec);
  if (ec) throw Error(ErrorCode::kIOError, "cannot remove " + partial + ": " + ec.message());
}

void sync_folder(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}
}  // namespace

std::size_t Database::remove_partial_snapshots(const std::string& parent) {
  std::size_t removed = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(parent, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() != ".partial" || !fs::exists(it->path() / kPartialMarker)) continue;
    remove_stale_partial(it->path().string());
    ++removed;
  }
  return removed;
}

namespace detail {

void snapshot_database(DatabaseCore& db, const std::string& dir, const std::vector<std::string>& memories) {
  std::error_code ec;
  if (fs::exists(dir, ec)) throw Error(ErrorCode::kAlreadyExists, "snapshot target " + dir + " exists");
  std::lock_guard<std::mutex> lock(db.mu_);
  std::set<std::string> keep(memories.begin(), memories.end());
  for (const auto& name : keep) {
    if (!db.store_->find_memory(name)) throw Error(ErrorCode::kNotFound, "no memory named '" + name + "'");
  }
  const auto kept = [&](const std::string& name) { return keep.empty() || keep.count(name) > 0; };
  const std::string partial = partial_path(dir);
  remove_stale_partial(partial);
  // Index checkpoints first, then the store: a checkpoint older than the store is caught up
  // from the op log on open, so the pair is always consistent.
  for (auto& [name, memory] : db.open_) {
    if (kept(name)) memory->checkpoint();
  }
  fs::create_directories(fs::path(partial) / "index", ec);
  if (ec) throw Error(ErrorCode::kIOError, "cannot create " + partial + ": " + ec.message());
  std::ofstream(fs::path(partial) / kPartialMarker) << "an interrupted snapshot of " << db.path_ << "\n";
  for (const auto& entry : db.store_->list_memories()) {
    const fs::path index = db.index_path(entry.id);
    if (!kept(entry.name) || !fs::exists(index, ec)) continue;
    fs::copy_file(index, fs::path(partial) / "index" / index.filename(), ec);
    if (ec) throw Error(ErrorCode::kIOError, "cannot copy " + index.string() + ": " + ec.message());
  }
  const std::string store_copy = (fs::path(partial) / "store").string();
  db.store_->checkpoint_to(store_copy);
  if (!keep.empty()) {
    // The copy drops the memories it does not keep, and compacts, so their bytes are not in
    // it (the checkpoint's files are hard links of the source's, which are left unchanged).
    storage::StoreOptions so;
    auto copy = storage::SlotStore::open(store_copy, so);
    for (const auto& entry : copy->list_memories()) {
      if (!kept(entry.name)) copy->drop_memory(entry);
    }
    copy->compact_all();
  }
  {
    std::ofstream marker(fs::path(partial) / kMarkerFile);
    marker << kMarkerText;
    marker.close();
    if (!marker) throw Error(ErrorCode::kIOError, "cannot write the snapshot's marker in " + partial);
  }
  sync_folder(fs::path(partial) / "index");
  sync_folder(partial);
  fs::rename(partial, dir, ec);
  if (ec) throw Error(ErrorCode::kIOError, "cannot rename " + partial + " to " + dir + ": " + ec.message());
  sync_folder(fs::absolute(fs::path(dir)).parent_path());
  fs::remove(fs::path(dir) / kPartialMarker, ec);  // harmless if a crash leaves it: the rename is done
}

}  // namespace detail

void Database::snapshot(const std::string& dir, const std::vector<std::string>& memories) {
  detail::snapshot_database(*core_, dir, memories);
}

std::string Database::read_only_reason() const { return core_->store_->read_only_reason(); }

std::uint64_t Database::disk_bytes() const {
  std::uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(core_->path_, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

}  // namespace engram
