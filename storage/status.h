// storage/status.h — the one place RocksDB statuses become engram errors (storage-internal).
#pragma once

#include <string>

namespace rocksdb {
class Status;
}

namespace engram::storage {

// Returns if `s` is OK; else throws engram::Error with `what` and RocksDB's message: kBusy for
// a held lock, kNoSpace for a full disk, kCorruption, kInvalidArgument, else kIOError.
void check(const rocksdb::Status& s, const std::string& what);

}  // namespace engram::storage
