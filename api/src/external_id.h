// api/src/external_id.h — how a caller's id (engram::ExternalId) is stored: bytes that tell an
// integer from a string, so that 7 and "7" never name the same slot.
#pragma once

#include <string>

#include "engram/types.h"

namespace engram::detail {

// 'u' + 8 bytes big-endian, or 's' + the text. Throws kInvalidArgument for an empty text or
// one longer than kMaxExternalIdBytes.
std::string encode_external_id(const ExternalId& id);
// The inverse; throws kCorruption for bytes encode_external_id() cannot have written.
ExternalId decode_external_id(const std::string& bytes);

}  // namespace engram::detail
