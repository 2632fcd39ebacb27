#include "engram/error.h"

namespace engram {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kFailedPrecondition: return "failed_precondition";
    case ErrorCode::kBusy: return "busy";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kIOError: return "io_error";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kNoSpace: return "no_space";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

}  // namespace engram
