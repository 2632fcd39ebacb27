// engram/database.h — a database folder holding named memories.
//
//   auto db = engram::Database::open("./engram-data");
//   engram::MemoryConfig cfg;  cfg.key_dim = 128;  cfg.value_dim = 128;  cfg.index = "HNSW32";
//   auto mem = db->create_memory("facts", cfg);
//   auto ids = mem->insert(engram::MatrixView(keys, 128), engram::MatrixView(values, 128));
//   auto r = mem->read(engram::MatrixView(queries, 128), {.k = 32});
//
// One process at a time may open a folder (a second open throws kBusy). All methods are
// thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engram/config.h"
#include "engram/memory.h"

namespace engram {

namespace detail {
class DatabaseCore;
}

class Database {
 public:
  // Opens (or, with create_if_missing, creates) the database in `path`. Throws kInvalidArgument
  // if the folder holds something that is not an Engram database, kBusy if another process has
  // it open, kNotFound if it does not exist and create_if_missing is false.
  static std::unique_ptr<Database> open(const std::string& path,
                                        const DatabaseOptions& options = {});

  // Checkpoints every open memory's index and closes the store.
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& path() const;

  // Creates a memory. Names are 1–128 characters of [A-Za-z0-9_.-], not starting with '.'.
  // Throws kAlreadyExists if the name is taken, kInvalidArgument for a bad name or config.
  std::shared_ptr<Memory> create_memory(const std::string& name, const MemoryConfig& config);

  // The memory called `name` (the same object for every caller). Throws kNotFound.
  std::shared_ptr<Memory> memory(const std::string& name);

  bool has_memory(const std::string& name) const;
  std::vector<std::string> list_memories() const;
  MemoryConfig describe(const std::string& name) const;

  // Deletes the memory and all its slots. Throws kNotFound.
  void drop_memory(const std::string& name);

  // Writes a consistent, openable copy of the database into `dir` (which must not exist): every
  // memory, or only those named in `memories` (an unknown name throws kNotFound and writes
  // nothing; the others' bytes are dropped from the copy and its store compacted, so none of
  // them is left in it). The copy is written to "<dir>.partial" and renamed when complete: `dir`
  // never holds a partial snapshot, and a ".partial" folder that an interrupted snapshot left is
  // removed by the next snapshot to the same target.
  void snapshot(const std::string& dir, const std::vector<std::string>& memories = {});
  // Removes the ".partial" folders that killed snapshots left directly in `parent` (only those
  // carrying the partial-snapshot marker); returns how many. A server calls it at start for its
  // default snapshot folder, whose targets are new names every time.
  static std::size_t remove_partial_snapshots(const std::string& parent);

  // Bytes the database occupies on disk (store and index checkpoints).
  std::uint64_t disk_bytes() const;

  // Why writes are refused now — the disk is full (they resume once space is freed), a write
  // failed, or the database opened read-only on a full disk (both need a reopen) — or "" while
  // it takes writes. Reads work either way.
  std::string read_only_reason() const;

 private:
  explicit Database(std::shared_ptr<detail::DatabaseCore> core);
  std::shared_ptr<detail::DatabaseCore> core_;
};

}  // namespace engram
