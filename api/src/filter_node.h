// api/src/filter_node.h — the parsed form of an engram::Filter, and its evaluation.
//
// filter.cc parses the JSON language of engram/filter.h into this tree, once per filter; the
// read and write paths evaluate it against payloads parsed once per slot (payload_fields()).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engram/filter.h"
#include "engram/types.h"

namespace engram {

struct Filter::Node {
  enum Kind { kBool, kMatch, kRange, kExists, kHasId };
  Kind kind = kBool;
  // kBool: a (nested) filter.
  std::vector<Node> must, should, must_not;
  // kMatch, kRange, kExists: the field, as the path of object keys "a.b" names.
  std::vector<std::string> path;
  // kMatch: the values the field may equal (strings, integers, booleans).
  std::vector<nlohmann::json> values;
  // kRange: the bounds given.
  std::optional<double> gt, gte, lt, lte;
  // kExists: whether the field must be there (true) or absent (false).
  bool exists = true;
  // kHasId: the ids, ascending.
  std::vector<SlotId> ids;
};

namespace detail {

// A payload's fields: the JSON object its bytes hold, or a discarded value when they hold
// anything else (such a payload has no fields).
nlohmann::json payload_fields(const std::string& payload);

// The field at `path` of `fields` (an object), or null.
const nlohmann::json* field_at(const nlohmann::json& fields, const std::vector<std::string>& path);

// Whether a slot with this id and these fields (payload_fields()) satisfies `node`.
bool evaluate(const Filter::Node& node, SlotId id, const nlohmann::json& fields);

}  // namespace detail
}  // namespace engram
