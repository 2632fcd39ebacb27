// engram/error.h — the one error type every Engram call throws.
//
// Engram reports failures by throwing engram::Error. The code says what kind of failure it is,
// so a caller (or the HTTP server) can react without parsing the message; the message says
// exactly what was wrong, naming the memory, the id or the dimension involved.
//
// Why exceptions rather than a Status return: every batch call returns its results by value, and
// the LM layer runs inside LibTorch, which throws; one mechanism end to end keeps call sites short.
#pragma once

#include <stdexcept>
#include <string>

namespace engram {

enum class ErrorCode {
  kInvalidArgument,     // the caller's input is wrong: dimension, NaN/Inf, k, a bad config
  kNotFound,            // unknown memory or slot id
  kAlreadyExists,       // creating a memory whose name is taken
  kFailedPrecondition,  // the operation needs a state the memory is not in (e.g. untrained index)
  kBusy,                // the database folder is locked by another process
  kCorruption,          // on-disk data failed a check
  kIOError,             // the file system or RocksDB failed
  kUnavailable,         // a remote memory cannot be reached, or is shutting down
  kNoSpace,             // the disk is full: writes are refused, reads go on
  kInternal,            // a broken invariant: a bug in Engram
};

// Returns a stable lower-case name for `code`, e.g. "invalid_argument".
const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace engram
