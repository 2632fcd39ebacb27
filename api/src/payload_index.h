// api/src/payload_index.h — the payload index: which slots hold which value in an indexed field.
//
// Durable form (RocksDB, family "payload_index", written in the same batch as the payload):
// one empty record per (memory, field, value, slot) — storage/keys.h index_entry_key — where the
// value is encoded by index_values() below. In RAM (this class): per field, the slots of each
// value (string, integer, boolean, "present"), and the (number, slot) pairs in number order,
// loaded when the memory opens and kept in step by every change. A filter whose conditions all
// name indexed fields (or ids) is decided from these without reading a payload.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/src/delta_sorted.h"
#include "api/src/filter_node.h"
#include "index/id_filter.h"

namespace engram::detail {

// The index values of the field at `path` of `fields` (payload_fields()), sorted, without
// repeats: for the field's value, or each element of an array it holds, 's'+length+text for a
// string, 'b'+0/1 for a boolean, 'i'+int64 for an integer (or an integral number in int64
// range), 'n'+double for any number; and 'e' when the field exists (not null, not []). They
// decide match, range and exists exactly as evaluate() does.
std::vector<std::string> index_values(const nlohmann::json& fields, const std::vector<std::string>& path);

// Splits a dotted key ("a.b") into its path.
std::vector<std::string> split_field_key(const std::string& key);

class PayloadIndex {
 public:
  const std::vector<std::string>& fields() const { return keys_; }
  bool empty() const { return keys_.empty(); }
  // The position of `key` in fields(), if indexed.
  std::optional<std::size_t> find(const std::string& key) const;
  std::size_t add_field(const std::string& key);
  void remove_field(const std::string& key);
  const std::vector<std::string>& path(std::size_t field) const { return fields_[field].path; }

  // One entry of field `field` (an index_values() value) for `slot`, in or out.
  void insert(std::size_t field, const std::string& value, std::uint64_t slot);
  void erase(std::size_t field, const std::string& value, std::uint64_t slot);
  // Takes over the fields of `built` (replacing a field of the same key).
  void adopt(PayloadIndex&& built);

  // The slots below `bound` that `root` accepts, as far as the index knows them: nothing when a
  // condition names a field that is not indexed. A slot without a payload is accepted when
  // `root` accepts a slot with no fields.
  std::optional<index::IdFilter> match(const Filter::Node& root, std::uint64_t bound) const;

 private:
  struct Field {
    std::vector<std::string> path;
    std::map<std::string, DeltaSorted<std::uint64_t>> postings;  // 's', 'b', 'i', 'e' values
    DeltaSorted<std::pair<double, std::uint64_t>> numbers;     // 'n' values
  };
  bool covers(const Filter::Node& node) const;
  index::IdFilter eval(const Filter::Node& node, std::uint64_t bound) const;
  void posting_into(const Field& f, const std::string& value, index::IdFilter* out) const;

  std::vector<std::string> keys_;
  std::vector<Field> fields_;
};

}  // namespace engram::detail
