#include "storage/rocksdb_logger.h"

#include <rocksdb/env.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>

namespace engram::storage {
namespace {

class SpdlogLogger final : public rocksdb::Logger {
 public:
  SpdlogLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }

  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    // Failures that matter reach Engram as statuses and are reported there; RocksDB's own
    // errors are kept as warnings, its warnings (e.g. every ingested SST "opened without unique
    // ID") and info lines as debug.
    const spdlog::level::level_enum to = level >= rocksdb::InfoLogLevel::FATAL_LEVEL   ? spdlog::level::err
                                         : level == rocksdb::InfoLogLevel::ERROR_LEVEL ? spdlog::level::warn
                                                                                       : spdlog::level::debug;
    if (!spdlog::should_log(to)) return;
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    spdlog::log(to, "rocksdb: {}", line);
  }
};

}  // namespace

std::shared_ptr<rocksdb::Logger> make_rocksdb_logger() { return std::make_shared<SpdlogLogger>(); }

}  // namespace engram::storage
