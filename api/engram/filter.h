// engram/filter.h — which slots an operation may touch: conditions on payloads and ids.
//
// A filter is written in JSON, the same text in C++, over HTTP ("filter": {...}) and on the
// command line (--filter '{...}'):
//
//   {"must":     [cond, ...],    every one holds
//    "should":   [cond, ...],    at least one holds (when the list is not empty)
//    "must_not": [cond, ...]}    none holds
//
// and a condition is one of
//
//   {"key": "source", "match": {"value": "wiki"}}        the field equals a string, integer or bool
//   {"key": "tag",    "match": {"any": ["a", "b"]}}      the field equals one of them
//   {"key": "year",   "range": {"gte": 2020, "lt": 2024}} a number in range (gt, gte, lt, lte)
//   {"key": "author", "exists": true}                     the field is there, not null, not []
//   {"has_id": [1, 5, 9]}                                 the slot's id is one of these
//   {"must": [...], "should": [...], "must_not": [...]}   a nested filter
//
// Conditions look into structured payloads: a payload whose bytes are a JSON object
// ({"source": "wiki", "year": 2021}). A key names a field of that object, "a.b" a field of a
// nested object. A field that holds an array satisfies match and range when one of its elements
// does. A payload that is not a JSON object (any other bytes, or none) has no fields: only
// has_id, must_not and empty filters can select it. The empty filter {} selects every slot.
//
// Thread-safety: a Filter is immutable after parse(); copies share its parsed form.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace engram {

class Filter {
 public:
  // No filter: every slot matches.
  Filter();

  // Parses the JSON form above. Throws kInvalidArgument naming the condition that is wrong and
  // why, e.g. `filter.must[1].range.gt: must be a number, got a string` or
  // `filter.should[0]: unknown operator "eq"`.
  static Filter parse(const std::string& json);

  // True for Filter() (and a parsed {}): the call is not filtered.
  bool empty() const { return node_ == nullptr; }

  // The filter as compact JSON, which parse() reads back to an equal filter ("{}" when empty()).
  const std::string& json() const { return json_; }

  // Whether the slot with this id and payload bytes satisfies the filter.
  bool matches(std::uint64_t id, const std::string& payload) const;  // id: a SlotId

  // The parsed form (api/src/filter_node.h); null when empty().
  struct Node;
  const Node* node() const { return node_.get(); }

 private:
  std::shared_ptr<const Node> node_;
  std::string json_ = "{}";
};

}  // namespace engram
