#include "api/src/external_id.h"

#include "engram/error.h"
#include "storage/keys.h"

namespace engram::detail {

std::string encode_external_id(const ExternalId& id) {
  std::string out;
  if (id.is_number()) {
    out.push_back('u');
    storage::put_u64_be(&out, id.number());
    return out;
  }
  if (id.text().empty() || id.text().size() > kMaxExternalIdBytes) {
    throw Error(ErrorCode::kInvalidArgument, "an external id is an integer or a string of 1.." +
                                                 std::to_string(kMaxExternalIdBytes) + " bytes, got a string of " +
                                                 std::to_string(id.text().size()));
  }
  out.push_back('s');
  return out + id.text();
}

ExternalId decode_external_id(const std::string& bytes) {
  if (bytes.size() == 9 && bytes[0] == 'u') return ExternalId(storage::get_u64_be(bytes.data() + 1));
  if (bytes.size() > 1 && bytes[0] == 's') return ExternalId(bytes.substr(1));
  throw Error(ErrorCode::kCorruption, "a stored external id is malformed");
}

}  // namespace engram::detail
