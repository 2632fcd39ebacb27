#include "storage/write_gate.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "engram/error.h"

namespace engram::storage {
namespace {

constexpr auto kRecheckEvery = std::chrono::milliseconds(100);

std::string mib(std::uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

std::uint64_t free_disk_bytes(const std::string& path) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0)
    throw Error(ErrorCode::kIOError, "cannot read the free space of " + path + ": " + std::strerror(errno));
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

void SlotStore::WriteGate::refresh_locked() {
  free_at_check = free_disk_bytes(path);
  written_since_check = 0;
  checked_at = std::chrono::steady_clock::now();
}

void SlotStore::WriteGate::admit(std::uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu);
  if (!stopped.empty()) throw Error(stopped_code, stopped);
  if (min_free == 0) return;
  // The free space seen at the last check, less what was written since, is a lower bound good
  // enough between checks; check again when it is old or when these writes could use half of
  // the margin (a large batch, or many since).
  const std::uint64_t margin = free_at_check > min_free ? free_at_check - min_free : 0;
  if (std::chrono::steady_clock::now() - checked_at > kRecheckEvery || written_since_check + bytes > margin / 2)
    refresh_locked();
  if (free_at_check < min_free + bytes + written_since_check) {
    throw Error(ErrorCode::kNoSpace, "the disk holding " + path + " is full: " + mib(free_at_check) +
                                         " free, writes need " + mib(min_free) +
                                         " kept free; they resume once space is freed");
  }
  written_since_check += bytes;
}

void SlotStore::WriteGate::failed(const std::string& why, bool no_space) {
  std::lock_guard<std::mutex> lock(mu);
  if (!stopped.empty()) return;
  stopped = "the store stopped taking writes after one failed (" + why +
            "); reads go on; restart the server once the disk is fixed";
  stopped_code = no_space ? ErrorCode::kNoSpace : ErrorCode::kIOError;
}

void SlotStore::WriteGate::opened_read_only(const std::string& why, ErrorCode code) {
  std::lock_guard<std::mutex> lock(mu);
  stopped = why;
  stopped_code = code;
}

std::string SlotStore::WriteGate::reason() {
  std::lock_guard<std::mutex> lock(mu);
  if (!stopped.empty()) return stopped;
  if (min_free == 0) return "";
  try {
    refresh_locked();
  } catch (const Error& e) {
    return e.what();
  }
  if (free_at_check < min_free)
    return "the disk holding " + path + " is full: " + mib(free_at_check) + " free, writes need " + mib(min_free);
  return "";
}

bool SlotStore::WriteGate::usable_for_writes() {
  std::lock_guard<std::mutex> lock(mu);
  return stopped.empty();
}

}  // namespace engram::storage
