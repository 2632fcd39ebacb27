// storage/write_gate.h — whether the store may write now: free disk space and past failures.
//
// A full disk must cost writes, never the process: RocksDB (Debian's build keeps assertions)
// aborts when a log writer that already failed is synced again, so the store refuses writes
// before the disk is full (a free-space margin, checked with statvfs at most every 100 ms or
// whenever the writes since the last check could have used half the margin), and stops writing
// for good after a write fails, until it is reopened.
#pragma once

#include "engram/error.h"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "storage/slot_store.h"

namespace engram::storage {

// Free bytes for an unprivileged writer on the file system holding `path` (statvfs f_bavail).
// Throws kIOError if the file system cannot be asked.
std::uint64_t free_disk_bytes(const std::string& path);

struct SlotStore::WriteGate {
  WriteGate(std::string path, std::uint64_t min_free_bytes)
      : path(std::move(path)), min_free(min_free_bytes) {}

  // Throws kNoSpace (or kIOError after a non-space failure) when a write of about `bytes` must
  // not be attempted.
  void admit(std::uint64_t bytes);
  // Records that a write failed: nothing is written again until the store is reopened.
  void failed(const std::string& why, bool no_space);
  // Marks the store read-only from the start: writes then throw `code` with `why` (kNoSpace when
  // it opened with too little free space, kFailedPrecondition when it was asked to).
  void opened_read_only(const std::string& why, ErrorCode code);
  std::string reason();
  bool usable_for_writes();  // false once a write failed or the store opened read-only

  const std::string path;
  const std::uint64_t min_free;

 private:
  void refresh_locked();

  std::mutex mu;
  std::string stopped;         // why writes stopped for good (until reopened); "" if they did not
  ErrorCode stopped_code = ErrorCode::kIOError;
  std::uint64_t free_at_check = 0;
  std::uint64_t written_since_check = 0;
  std::chrono::steady_clock::time_point checked_at{};
};

}  // namespace engram::storage
