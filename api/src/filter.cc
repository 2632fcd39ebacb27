// The filter language of engram/filter.h: JSON text -> Filter::Node, with errors that name the
// condition, and the evaluation of a node against a slot.
#include <algorithm>
#include <cmath>
#include <limits>

#include "api/src/filter_node.h"
#include "engram/error.h"

namespace engram {
namespace {

using json = nlohmann::json;

// Nesting deeper than this is refused: evaluation recurses, and no real filter needs it.
constexpr int kMaxDepth = 16;
// The most conditions and listed values (any, has_id) one filter may hold.
constexpr std::size_t kMaxTerms = 100000;

[[noreturn]] void fail(const std::string& where, const std::string& why) {
  throw Error(ErrorCode::kInvalidArgument, where + ": " + why);
}

const char* type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_float: return "a fractional number";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    default: return "an unknown value";
  }
}

class Parser {
 public:
  Filter::Node filter(const json& j, const std::string& where, int depth) {
    if (!j.is_object()) fail(where, std::string("a filter must be an object, got ") + type_name(j));
    if (depth > kMaxDepth) fail(where, "filters nest at most " + std::to_string(kMaxDepth) + " deep");
    Filter::Node node;
    node.kind = Filter::Node::kBool;
    for (const auto& [name, value] : j.items()) {
      std::vector<Filter::Node>* list = name == "must"       ? &node.must
                                        : name == "should"   ? &node.should
                                        : name == "must_not" ? &node.must_not
                                                             : nullptr;
      const std::string at = where + "." + name;
      if (!list) fail(where, "unknown operator \"" + name + "\" (a filter holds \"must\", \"should\" and \"must_not\")");
      if (!value.is_array()) fail(at, std::string("must be an array of conditions, got ") + type_name(value));
      for (std::size_t i = 0; i < value.size(); ++i)
        list->push_back(condition(value[i], at + "[" + std::to_string(i) + "]", depth + 1));
    }
    return node;
  }

 private:
  void count(std::size_t n, const std::string& where) {
    terms_ += n;
    if (terms_ > kMaxTerms) fail(where, "a filter holds at most " + std::to_string(kMaxTerms) + " conditions and values");
  }

  Filter::Node condition(const json& j, const std::string& where, int depth) {
    count(1, where);
    if (!j.is_object()) fail(where, std::string("a condition must be an object, got ") + type_name(j));
    if (j.contains("must") || j.contains("should") || j.contains("must_not")) return filter(j, where, depth);
    if (j.contains("has_id")) {
      if (j.size() != 1) fail(where, "\"has_id\" stands alone in its condition");
      return has_id(j.at("has_id"), where + ".has_id");
    }
    Filter::Node node;
    const json* op = nullptr;
    std::string op_name;
    for (const auto& [name, value] : j.items()) {
      if (name == "key") continue;
      if (name != "match" && name != "range" && name != "exists")
        fail(where, "unknown operator \"" + name + "\" (a condition is match, range, exists, has_id or a nested filter)");
      if (op) fail(where, "one operator per condition, got \"" + op_name + "\" and \"" + name + "\"");
      op = &value;
      op_name = name;
    }
    if (!op) fail(where, "a condition needs an operator: match, range, exists or has_id");
    const auto key = j.find("key");
    if (key == j.end()) fail(where, "\"" + op_name + "\" needs a \"key\": the payload field it tests");
    if (!key->is_string() || key->get_ref<const std::string&>().empty())
      fail(where + ".key", std::string("must be a non-empty string, got ") + type_name(*key));
    node.path = split_key(key->get<std::string>(), where + ".key");
    const std::string at = where + "." + op_name;
    if (op_name == "match") match(*op, at, &node);
    else if (op_name == "range") range(*op, at, &node);
    else {
      node.kind = Filter::Node::kExists;
      if (!op->is_boolean()) fail(at, std::string("must be true or false, got ") + type_name(*op));
      node.exists = op->get<bool>();
    }
    return node;
  }

  static std::vector<std::string> split_key(const std::string& key, const std::string& where) {
    std::vector<std::string> path;
    std::size_t begin = 0;
    for (;;) {
      const std::size_t dot = key.find('.', begin);
      path.push_back(key.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin));
      if (path.back().empty()) fail(where, "\"" + key + "\" has an empty part (keys are field names joined by '.')");
      if (dot == std::string::npos) return path;
      begin = dot + 1;
    }
  }

  // A value `match` compares with: a string, an integer or a boolean (fractional numbers do not
  // compare reliably for equality: use range).
  static void check_scalar(const json& v, const std::string& where) {
    if (v.is_string() || v.is_boolean()) return;
    if (v.is_number_integer() && (!v.is_number_unsigned() ||
                                  v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())))
      return;
    fail(where, std::string("must be a string, an integer or a boolean, got ") + type_name(v));
  }

  void match(const json& m, const std::string& where, Filter::Node* node) {
    node->kind = Filter::Node::kMatch;
    if (!m.is_object() || m.size() != 1 || !(m.contains("value") || m.contains("any"))) {
      if (m.is_object()) {
        for (const auto& [name, value] : m.items())
          if (name != "value" && name != "any") fail(where, "unknown operator \"" + name + "\" (match takes \"value\" or \"any\")");
      }
      fail(where, std::string("must be {\"value\": v} or {\"any\": [v, ...]}, got ") +
                      (m.is_object() ? "an object with " + std::to_string(m.size()) + " fields" : type_name(m)));
    }
    if (m.contains("value")) {
      check_scalar(m.at("value"), where + ".value");
      node->values.push_back(m.at("value"));
      return;
    }
    const json& any = m.at("any");
    if (!any.is_array()) fail(where + ".any", std::string("must be an array, got ") + type_name(any));
    count(any.size(), where + ".any");
    for (std::size_t i = 0; i < any.size(); ++i) {
      check_scalar(any[i], where + ".any[" + std::to_string(i) + "]");
      node->values.push_back(any[i]);
    }
  }

  static void range(const json& r, const std::string& where, Filter::Node* node) {
    node->kind = Filter::Node::kRange;
    if (!r.is_object() || r.empty())
      fail(where, std::string("must be an object with gt, gte, lt or lte, got ") + (r.is_object() ? "{}" : type_name(r)));
    for (const auto& [name, value] : r.items()) {
      std::optional<double>* bound = name == "gt"    ? &node->gt
                                     : name == "gte" ? &node->gte
                                     : name == "lt"  ? &node->lt
                                     : name == "lte" ? &node->lte
                                                     : nullptr;
      if (!bound) fail(where, "unknown operator \"" + name + "\" (range takes gt, gte, lt and lte)");
      if (!value.is_number()) fail(where + "." + name, std::string("must be a number, got ") + type_name(value));
      *bound = value.get<double>();
    }
  }

  Filter::Node has_id(const json& ids, const std::string& where) {
    Filter::Node node;
    node.kind = Filter::Node::kHasId;
    if (!ids.is_array()) fail(where, std::string("must be an array of slot ids, got ") + type_name(ids));
    count(ids.size(), where);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (!ids[i].is_number_unsigned() && !(ids[i].is_number_integer() && ids[i].get<std::int64_t>() >= 0))
        fail(where + "[" + std::to_string(i) + "]", std::string("must be a slot id (an integer >= 0), got ") + type_name(ids[i]));
      node.ids.push_back(ids[i].get<SlotId>());
    }
    std::sort(node.ids.begin(), node.ids.end());
    node.ids.erase(std::unique(node.ids.begin(), node.ids.end()), node.ids.end());
    return node;
  }

  std::size_t terms_ = 0;
};

bool equal(const json& stored, const json& wanted) {
  if (wanted.is_string()) return stored.is_string() && stored.get_ref<const std::string&>() == wanted.get_ref<const std::string&>();
  if (wanted.is_boolean()) return stored.is_boolean() && stored.get<bool>() == wanted.get<bool>();
  const std::int64_t w = wanted.get<std::int64_t>();  // an integer (check_scalar)
  if (stored.is_number_unsigned()) return w >= 0 && stored.get<std::uint64_t>() == static_cast<std::uint64_t>(w);
  if (stored.is_number_integer()) return stored.get<std::int64_t>() == w;
  if (stored.is_number_float()) {
    // Exactly: a double equals w when it is integral, in int64's range and converts to w (a
    // cast of w to double would round above 2^53). The payload index compares the same way.
    const double d = stored.get<double>();
    return std::isfinite(d) && d == std::floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
           static_cast<std::int64_t>(d) == w;
  }
  return false;
}

bool in_range(const json& stored, const Filter::Node& n) {
  if (!stored.is_number()) return false;
  const double v = stored.get<double>();
  if (std::isnan(v)) return false;
  return (!n.gt || v > *n.gt) && (!n.gte || v >= *n.gte) && (!n.lt || v < *n.lt) && (!n.lte || v <= *n.lte);
}

// A field holding an array satisfies a value test when one of its elements does.
template <typename Test>
bool any_value(const json& stored, Test test) {
  if (!stored.is_array()) return test(stored);
  for (const json& e : stored)
    if (test(e)) return true;
  return false;
}

}  // namespace

Filter::Filter() = default;

Filter Filter::parse(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail("filter", "not valid JSON");
  Filter f;
  Node root = Parser().filter(j, "filter", 0);
  if (root.must.empty() && root.should.empty() && root.must_not.empty()) return f;  // {}: no filter
  f.node_ = std::make_shared<const Node>(std::move(root));
  f.json_ = j.dump();
  return f;
}

bool Filter::matches(std::uint64_t id, const std::string& payload) const {
  return !node_ || detail::evaluate(*node_, id, detail::payload_fields(payload));
}

namespace detail {

const json* field_at(const json& fields, const std::vector<std::string>& path) {
  const json* at = &fields;
  for (const std::string& part : path) {
    if (!at->is_object()) return nullptr;
    const auto it = at->find(part);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

json payload_fields(const std::string& payload) {
  // Most unstructured payloads are rejected by their first byte, without a parse.
  std::size_t i = 0;
  while (i < payload.size() && (payload[i] == ' ' || payload[i] == '\n' || payload[i] == '\t' || payload[i] == '\r')) ++i;
  if (i == payload.size() || payload[i] != '{') return json(json::value_t::discarded);
  json j = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : json(json::value_t::discarded);
}

bool evaluate(const Filter::Node& n, SlotId id, const json& fields) {
  switch (n.kind) {
    case Filter::Node::kBool: {
      for (const Filter::Node& c : n.must)
        if (!evaluate(c, id, fields)) return false;
      for (const Filter::Node& c : n.must_not)
        if (evaluate(c, id, fields)) return false;
      if (n.should.empty()) return true;
      for (const Filter::Node& c : n.should)
        if (evaluate(c, id, fields)) return true;
      return false;
    }
    case Filter::Node::kHasId:
      return std::binary_search(n.ids.begin(), n.ids.end(), id);
    default:
      break;
  }
  const json* f = fields.is_object() ? field_at(fields, n.path) : nullptr;
  switch (n.kind) {
    case Filter::Node::kMatch:
      return f && any_value(*f, [&](const json& v) {
               for (const json& w : n.values)
                 if (equal(v, w)) return true;
               return false;
             });
    case Filter::Node::kRange:
      return f && any_value(*f, [&](const json& v) { return in_range(v, n); });
    case Filter::Node::kExists: {
      const bool present = f && !f->is_null() && !(f->is_array() && f->empty());
      return present == n.exists;
    }
    default:
      return false;
  }
}

}  // namespace detail
}  // namespace engram
