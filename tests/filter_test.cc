// The filter language (engram/filter.h): Filter::matches agrees with a brute-force reference
// on random payloads and random filters (a property test), and a wrong filter is refused with a
// message naming the condition.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <string>
#include <vector>

#include "engram/engram.h"

namespace engram {
namespace {

using json = nlohmann::json;

// --- the reference: the semantics of engram/filter.h, written as plainly as possible ----------

bool ref_filter(const json& f, SlotId id, const json& payload);

// The field named by a dotted key, or null.
const json* ref_field(const json& payload, const std::string& key) {
  if (!payload.is_object()) return nullptr;
  const json* at = &payload;
  std::size_t begin = 0;
  while (true) {
    const std::size_t dot = key.find('.', begin);
    const std::string part = key.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin);
    if (!at->is_object() || !at->contains(part)) return nullptr;
    at = &(*at)[part];
    if (dot == std::string::npos) return at;
    begin = dot + 1;
  }
}

std::vector<json> ref_elements(const json& v) {
  if (v.is_array()) return std::vector<json>(v.begin(), v.end());
  return {v};
}

bool ref_equal(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  if (a.is_number() || b.is_number()) return false;
  return a == b;
}

bool ref_condition(const json& c, SlotId id, const json& payload) {
  if (c.contains("must") || c.contains("should") || c.contains("must_not")) return ref_filter(c, id, payload);
  if (c.contains("has_id")) {
    for (const json& x : c["has_id"])
      if (x.get<SlotId>() == id) return true;
    return false;
  }
  const json* v = ref_field(payload, c["key"].get<std::string>());
  if (c.contains("exists")) {
    const bool present = v && !v->is_null() && !(v->is_array() && v->empty());
    return present == c["exists"].get<bool>();
  }
  if (!v) return false;
  for (const json& e : ref_elements(*v)) {
    if (c.contains("match")) {
      std::vector<json> wanted = c["match"].contains("value") ? std::vector<json>{c["match"]["value"]}
                                                              : std::vector<json>(c["match"]["any"].begin(), c["match"]["any"].end());
      for (const json& w : wanted)
        if (ref_equal(e, w)) return true;
    } else {
      if (!e.is_number()) continue;
      const double x = e.get<double>();
      const json& r = c["range"];
      if (r.contains("gt") && !(x > r["gt"].get<double>())) continue;
      if (r.contains("gte") && !(x >= r["gte"].get<double>())) continue;
      if (r.contains("lt") && !(x < r["lt"].get<double>())) continue;
      if (r.contains("lte") && !(x <= r["lte"].get<double>())) continue;
      return true;
    }
  }
  return false;
}

bool ref_filter(const json& f, SlotId id, const json& payload) {
  if (f.contains("must"))
    for (const json& c : f["must"])
      if (!ref_condition(c, id, payload)) return false;
  if (f.contains("must_not"))
    for (const json& c : f["must_not"])
      if (ref_condition(c, id, payload)) return false;
  if (f.contains("should") && !f["should"].empty()) {
    for (const json& c : f["should"])
      if (ref_condition(c, id, payload)) return true;
    return false;
  }
  return true;
}

// --- random payloads and filters over a few fields, so that conditions often hit ----------------

const std::vector<std::string> kWords = {"wiki", "news", "book", "web"};

json random_scalar(std::mt19937& rng) {
  switch (rng() % 5) {
    case 0: return kWords[rng() % kWords.size()];
    case 1: return static_cast<int>(rng() % 10) - 2;
    case 2: return static_cast<double>(rng() % 20) / 2.0 - 1;  // halves: some equal integers
    case 3: return rng() % 2 == 0;
    default: return nullptr;
  }
}

// Payload bytes: mostly JSON objects, some plain strings, some empty.
std::string random_payload(std::mt19937& rng) {
  const unsigned kind = rng() % 10;
  if (kind == 0) return "";
  if (kind == 1) return "plain text, not an object";
  if (kind == 2) return "[1, 2]";
  json p = json::object();
  for (const char* key : {"source", "year", "score", "tags", "flag"}) {
    if (rng() % 4 == 0) continue;
    if (std::string(key) == "tags") {
      json a = json::array();
      for (unsigned i = rng() % 3; i > 0; --i) a.push_back(random_scalar(rng));
      p[key] = a;
    } else {
      p[key] = random_scalar(rng);
    }
  }
  if (rng() % 3 == 0) p["meta"] = {{"lang", kWords[rng() % 2]}, {"len", static_cast<int>(rng() % 5)}};
  return p.dump();
}

const std::vector<std::string> kKeys = {"source", "year", "score", "tags", "flag", "meta.lang", "meta.len", "absent"};

json random_match_value(std::mt19937& rng) {
  switch (rng() % 3) {
    case 0: return kWords[rng() % kWords.size()];
    case 1: return static_cast<int>(rng() % 10) - 2;
    default: return rng() % 2 == 0;
  }
}

json random_filter(std::mt19937& rng, int depth);

json random_condition(std::mt19937& rng, int depth) {
  const unsigned kind = rng() % (depth < 2 ? 6 : 5);
  const std::string key = kKeys[rng() % kKeys.size()];
  switch (kind) {
    case 0: return {{"key", key}, {"match", {{"value", random_match_value(rng)}}}};
    case 1: {
      json any = json::array();
      for (unsigned i = 1 + rng() % 3; i > 0; --i) any.push_back(random_match_value(rng));
      return {{"key", key}, {"match", {{"any", any}}}};
    }
    case 2: {
      json r = json::object();
      const char* ops[] = {"gt", "gte", "lt", "lte"};
      for (const char* op : ops)
        if (rng() % 2 == 0) r[op] = static_cast<double>(rng() % 16) / 2.0 - 2;
      if (r.empty()) r["gte"] = static_cast<int>(rng() % 6);
      return {{"key", key}, {"range", r}};
    }
    case 3: return {{"key", key}, {"exists", rng() % 3 != 0}};
    case 4: {
      json ids = json::array();
      for (unsigned i = rng() % 6; i > 0; --i) ids.push_back(rng() % 50);
      return {{"has_id", ids}};
    }
    default: return random_filter(rng, depth + 1);
  }
}

json random_filter(std::mt19937& rng, int depth) {
  json f = json::object();
  for (const char* part : {"must", "should", "must_not"}) {
    if (rng() % 2 == 0) continue;
    json list = json::array();
    for (unsigned i = 1 + rng() % 3; i > 0; --i) list.push_back(random_condition(rng, depth));
    f[part] = list;
  }
  if (depth > 0 && f.empty()) f["must"] = json::array({random_condition(rng, 2)});  // a condition is never {}
  return f;
}

TEST(FilterTest, AgreesWithBruteForceReferenceOnRandomPayloads) {
  std::mt19937 rng(20261207);
  std::vector<std::string> payloads;
  for (int i = 0; i < 50; ++i) payloads.push_back(random_payload(rng));
  std::size_t matched = 0, total = 0;
  for (int t = 0; t < 400; ++t) {
    const json fj = random_filter(rng, 0);
    const Filter f = Filter::parse(fj.dump());
    for (SlotId id = 0; id < payloads.size(); ++id) {
      json parsed = json::parse(payloads[id], nullptr, false);
      if (parsed.is_discarded() || !parsed.is_object()) parsed = nullptr;
      const bool want = ref_filter(fj, id, parsed);
      ASSERT_EQ(f.matches(id, payloads[id]), want) << "filter " << fj.dump() << "\npayload " << payloads[id] << "\nid " << id;
      matched += want;
      ++total;
    }
  }
  // The generator must exercise both outcomes, or the comparison proves little.
  EXPECT_GT(matched, total / 10);
  EXPECT_LT(matched, total * 9 / 10);
}

TEST(FilterTest, ParsedFilterRoundTripsThroughItsJson) {
  std::mt19937 rng(7);
  for (int t = 0; t < 50; ++t) {
    const Filter f = Filter::parse(random_filter(rng, 0).dump());
    const Filter g = Filter::parse(f.json());
    EXPECT_EQ(f.json(), g.json());
    for (SlotId id = 0; id < 20; ++id) {
      const std::string p = random_payload(rng);
      EXPECT_EQ(f.matches(id, p), g.matches(id, p));
    }
  }
}

TEST(FilterTest, EmptyFilterMatchesEverySlot) {
  EXPECT_TRUE(Filter().empty());
  EXPECT_TRUE(Filter::parse("{}").empty());
  EXPECT_TRUE(Filter::parse(R"({"must": []})").empty());
  EXPECT_TRUE(Filter().matches(3, "anything"));
}

TEST(FilterTest, FieldsOfStructuredPayloads) {
  const std::string p = R"({"source": "wiki", "year": 2021, "tags": ["a", "b"], "meta": {"lang": "en"}})";
  auto m = [&](const std::string& f) { return Filter::parse(f).matches(1, p); };
  EXPECT_TRUE(m(R"({"must": [{"key": "source", "match": {"value": "wiki"}}]})"));
  EXPECT_FALSE(m(R"({"must": [{"key": "source", "match": {"value": "news"}}]})"));
  EXPECT_TRUE(m(R"({"must": [{"key": "year", "range": {"gte": 2020, "lt": 2022}}]})"));
  EXPECT_FALSE(m(R"({"must": [{"key": "year", "range": {"gt": 2021}}]})"));
  EXPECT_TRUE(m(R"({"must": [{"key": "tags", "match": {"any": ["x", "b"]}}]})"));
  EXPECT_TRUE(m(R"({"must": [{"key": "meta.lang", "match": {"value": "en"}}]})"));
  EXPECT_TRUE(m(R"({"must_not": [{"key": "author", "exists": true}]})"));
  EXPECT_TRUE(m(R"({"should": [{"has_id": [7]}, {"key": "year", "match": {"value": 2021}}]})"));
  EXPECT_FALSE(m(R"({"should": [{"has_id": [7]}, {"key": "year", "match": {"value": 2020}}]})"));
  // A plain-string payload has no fields, even one that mentions them.
  EXPECT_FALSE(Filter::parse(R"({"must": [{"key": "source", "exists": true}]})").matches(1, "source: wiki"));
  EXPECT_TRUE(Filter::parse(R"({"must": [{"has_id": [1]}]})").matches(1, ""));
}

// The message names where the filter is wrong and why.
void expect_refused(const std::string& filter, const std::string& message) {
  try {
    Filter::parse(filter);
    ADD_FAILURE() << filter << " was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(std::string(e.what()), message) << filter;
  }
}

TEST(FilterTest, BadFiltersNameTheCondition) {
  expect_refused("{", "filter: not valid JSON");
  expect_refused("[]", "filter: a filter must be an object, got an array");
  expect_refused(R"({"where": []})",
                 R"(filter: unknown operator "where" (a filter holds "must", "should" and "must_not"))");
  expect_refused(R"({"must": {}})", "filter.must: must be an array of conditions, got an object");
  expect_refused(R"({"must": [{"key": "a", "eq": 1}]})",
                 R"(filter.must[0]: unknown operator "eq" (a condition is match, range, exists, has_id or a nested filter))");
  expect_refused(R"({"must": [{"key": "a", "match": {"value": 1}}, {"key": "y", "range": {"gt": "2020"}}]})",
                 "filter.must[1].range.gt: must be a number, got a string");
  expect_refused(R"({"should": [{"key": "y", "range": {"after": 3}}]})",
                 R"(filter.should[0].range: unknown operator "after" (range takes gt, gte, lt and lte))");
  expect_refused(R"({"must": [{"key": "a", "match": {"value": 1.5}}]})",
                 "filter.must[0].match.value: must be a string, an integer or a boolean, got a fractional number");
  expect_refused(R"({"must": [{"key": "a", "match": {"any": "x"}}]})", "filter.must[0].match.any: must be an array, got a string");
  expect_refused(R"({"must": [{"match": {"value": 1}}]})",
                 R"(filter.must[0]: "match" needs a "key": the payload field it tests)");
  expect_refused(R"({"must": [{"key": 3, "exists": true}]})", "filter.must[0].key: must be a non-empty string, got an integer");
  expect_refused(R"({"must": [{"key": "a..b", "exists": true}]})",
                 R"(filter.must[0].key: "a..b" has an empty part (keys are field names joined by '.'))");
  expect_refused(R"({"must": [{"key": "a", "exists": "yes"}]})", "filter.must[0].exists: must be true or false, got a string");
  expect_refused(R"({"must_not": [{"has_id": [1, -2]}]})",
                 "filter.must_not[0].has_id[1]: must be a slot id (an integer >= 0), got an integer");
  expect_refused(R"({"must": [{"key": "a", "match": {"value": 1}, "range": {"gt": 1}}]})",
                 R"(filter.must[0]: one operator per condition, got "match" and "range")");
  expect_refused(R"({"must": [{"must": [{"should": [{"key": "a", "range": {"lt": null}}]}]}]})",
                 "filter.must[0].must[0].should[0].range.lt: must be a number, got null");
  std::string deep = R"({"key": "a", "exists": true})";
  for (int i = 0; i < 20; ++i) deep = R"({"must": [)" + deep + "]}";
  EXPECT_THROW(Filter::parse(deep), Error);
}

}  // namespace
}  // namespace engram
