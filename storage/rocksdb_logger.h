// storage/rocksdb_logger.h — RocksDB's info log, written through spdlog instead of a file.
//
// RocksDB keeps a LOG file in the database folder by default. On a full disk its writes fail,
// and the next log line then trips an assertion in Debian's RocksDB build (a writer that saw an
// error must not be written again): the process aborts, at the latest when the database
// closes. Logging through spdlog keeps RocksDB's messages and
// never writes to the data disk. Levels: RocksDB's fatal → error, error → warning, the rest debug.
#pragma once

#include <memory>

namespace rocksdb {
class Logger;
}

namespace engram::storage {

std::shared_ptr<rocksdb::Logger> make_rocksdb_logger();

}  // namespace engram::storage
