#include "api/src/payload_index.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "engram/error.h"

namespace engram::detail {
namespace {

using json = nlohmann::json;

void put_u64(std::string* out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}

// Order-preserving 8-byte forms, so that a field's entries sort by value in the store too.
std::string int_value(std::int64_t v) {
  std::string out = "i";
  put_u64(&out, static_cast<std::uint64_t>(v) ^ (std::uint64_t{1} << 63));
  return out;
}

std::string number_value(double v) {
  if (v == 0) v = 0;  // -0 and 0 are one number
  std::uint64_t bits;
  std::memcpy(&bits, &v, 8);
  bits = (bits >> 63) ? ~bits : bits | (std::uint64_t{1} << 63);
  std::string out = "n";
  put_u64(&out, bits);
  return out;
}

double number_of(const std::string& value) {
  std::uint64_t bits = 0;
  for (int i = 1; i <= 8; ++i) bits = (bits << 8) | static_cast<unsigned char>(value[static_cast<std::size_t>(i)]);
  bits = (bits >> 63) ? bits & ~(std::uint64_t{1} << 63) : ~bits;
  double v;
  std::memcpy(&v, &bits, 8);
  return v;
}

std::string string_value(const std::string& s) {
  std::string out = "s";
  const auto n = static_cast<std::uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  return out + s;
}

std::string bool_value(bool b) { return std::string("b") + (b ? '\1' : '\0'); }

const std::string kPresent = "e";

// The int64 an integral JSON number equals, if any: what match compares integers by.
std::optional<std::int64_t> as_int64(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // [-2^63, 2^63): the doubles that convert to an int64 exactly when integral.
    if (std::isfinite(d) && d == std::floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
      return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> split_field_key(const std::string& key) {
  std::vector<std::string> path;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t dot = key.find('.', begin);
    path.push_back(key.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin));
    if (path.back().empty())
      throw Error(ErrorCode::kInvalidArgument, "field \"" + key + "\" has an empty part (keys are field names joined by '.')");
    if (dot == std::string::npos) return path;
    begin = dot + 1;
  }
}

std::vector<std::string> index_values(const json& fields, const std::vector<std::string>& path) {
  std::vector<std::string> out;
  const json* f = fields.is_object() ? field_at(fields, path) : nullptr;
  if (!f || f->is_null() || (f->is_array() && f->empty())) return out;
  out.push_back(kPresent);
  auto add = [&](const json& v) {
    if (v.is_string()) out.push_back(string_value(v.get_ref<const std::string&>()));
    else if (v.is_boolean()) out.push_back(bool_value(v.get<bool>()));
    else if (v.is_number()) {
      out.push_back(number_value(v.get<double>()));
      if (auto i = as_int64(v)) out.push_back(int_value(*i));
    }
  };
  if (f->is_array()) {
    for (const json& e : *f) add(e);
  } else {
    add(*f);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<std::size_t> PayloadIndex::find(const std::string& key) const {
  for (std::size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i] == key) return i;
  return std::nullopt;
}

std::size_t PayloadIndex::add_field(const std::string& key) {
  if (auto i = find(key)) return *i;
  keys_.push_back(key);
  fields_.emplace_back();
  fields_.back().path = split_field_key(key);
  return keys_.size() - 1;
}

void PayloadIndex::remove_field(const std::string& key) {
  if (auto i = find(key)) {
    keys_.erase(keys_.begin() + static_cast<std::ptrdiff_t>(*i));
    fields_.erase(fields_.begin() + static_cast<std::ptrdiff_t>(*i));
  }
}

void PayloadIndex::insert(std::size_t field, const std::string& value, std::uint64_t slot) {
  Field& f = fields_[field];
  if (value[0] == 'n') f.numbers.insert({number_of(value), slot});
  else f.postings[value].insert(slot);
}

void PayloadIndex::erase(std::size_t field, const std::string& value, std::uint64_t slot) {
  Field& f = fields_[field];
  if (value[0] == 'n') {
    f.numbers.erase({number_of(value), slot});
    return;
  }
  auto it = f.postings.find(value);
  if (it == f.postings.end()) return;
  it->second.erase(slot);
  if (it->second.empty()) f.postings.erase(it);
}

void PayloadIndex::adopt(PayloadIndex&& built) {
  for (std::size_t i = 0; i < built.keys_.size(); ++i) {
    const std::size_t f = add_field(built.keys_[i]);
    fields_[f] = std::move(built.fields_[i]);
  }
}

bool PayloadIndex::covers(const Filter::Node& node) const {
  if (node.kind == Filter::Node::kHasId) return true;
  if (node.kind != Filter::Node::kBool) {
    for (const Field& f : fields_)
      if (f.path == node.path) return true;
    return false;
  }
  for (const auto* list : {&node.must, &node.should, &node.must_not})
    for (const Filter::Node& c : *list)
      if (!covers(c)) return false;
  return true;
}

std::optional<index::IdFilter> PayloadIndex::match(const Filter::Node& root, std::uint64_t bound) const {
  if (!covers(root)) return std::nullopt;
  return eval(root, bound);
}

void PayloadIndex::posting_into(const Field& f, const std::string& value, index::IdFilter* out) const {
  auto it = f.postings.find(value);
  if (it != f.postings.end()) it->second.for_each([&](std::uint64_t id) { out->set(id, true); });
}

index::IdFilter PayloadIndex::eval(const Filter::Node& n, std::uint64_t bound) const {
  using Node = Filter::Node;
  if (n.kind == Node::kBool) {
    // The first `must` set is the start (a selective filter then never builds an all-ones set).
    index::IdFilter r = n.must.empty() ? index::IdFilter(bound, true) : eval(n.must.front(), bound);
    for (std::size_t i = 1; i < n.must.size(); ++i) r.intersect(eval(n.must[i], bound));
    for (const Node& c : n.must_not) r.subtract(eval(c, bound));
    if (!n.should.empty()) {
      index::IdFilter any(bound, false);
      for (const Node& c : n.should) any.unite(eval(c, bound));
      r.intersect(any);
    }
    return r;
  }
  index::IdFilter r(bound, false);
  if (n.kind == Node::kHasId) {
    for (SlotId id : n.ids) r.set(id, true);
    return r;
  }
  const Field* f = nullptr;
  for (const Field& candidate : fields_)
    if (candidate.path == n.path) f = &candidate;
  switch (n.kind) {
    case Node::kMatch:
      for (const json& w : n.values)
        posting_into(*f, w.is_string() ? string_value(w.get_ref<const std::string&>())
                         : w.is_boolean() ? bool_value(w.get<bool>())
                                          : int_value(w.get<std::int64_t>()),
                     &r);
      return r;
    case Node::kRange: {
      constexpr double kInf = std::numeric_limits<double>::infinity();
      double lo = -kInf, hi = kInf;  // [lo, hi)
      if (n.gte) lo = std::max(lo, *n.gte);
      if (n.gt) lo = std::max(lo, std::nextafter(*n.gt, kInf));
      if (n.lt) hi = std::min(hi, *n.lt);
      if (n.lte) hi = std::min(hi, std::nextafter(*n.lte, kInf));
      if (lo < hi)
        f->numbers.for_each_in({lo, 0}, {hi, 0}, [&](const std::pair<double, std::uint64_t>& e) { r.set(e.second, true); });
      return r;
    }
    case Node::kExists:
      posting_into(*f, kPresent, &r);
      if (!n.exists) {
        index::IdFilter all(bound, true);
        all.subtract(r);
        return all;
      }
      return r;
    default:
      return r;
  }
}

}  // namespace engram::detail
