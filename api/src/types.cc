#include "engram/types.h"

#include "engram/error.h"
#include "engram/memory_interface.h"

namespace engram {

MatrixView::MatrixView(const std::vector<float>& v, std::size_t c)
    : data(v.data()), rows(c == 0 ? 0 : v.size() / c), cols(c) {
  if (c == 0 || v.size() % c != 0) {
    throw Error(ErrorCode::kInvalidArgument, "a vector of " + std::to_string(v.size()) +
                                                 " floats is not a whole number of rows of " +
                                                 std::to_string(c));
  }
}

std::string ExternalId::to_string() const {
  return is_text_ ? "\"" + text_ + "\"" : std::to_string(number_);
}

SlotId MemoryInterface::insert_one(const std::vector<float>& key, const std::vector<float>& value,
                                   const std::string& payload, const WriteOptions& options) {
  return insert(MatrixView(key.data(), 1, key.size()), MatrixView(value.data(), 1, value.size()),
                {payload}, options)[0];
}

RetrieveResult MemoryInterface::retrieve(MatrixView queries, int k, bool with_payloads) {
  SearchOptions o;
  o.k = k;
  o.with_payloads = with_payloads;
  return retrieve(queries, o);
}

WriteResult MemoryInterface::write(MatrixView queries, MatrixView values, int k, const WriteOptions& options) {
  SearchOptions o;
  o.k = k;
  return write(queries, values, o, options);
}

Slot MemoryInterface::get_one(SlotId id) { return get({id})[0]; }

void MemoryInterface::erase_one(SlotId id, const WriteOptions& options) { erase({id}, options); }

}  // namespace engram
