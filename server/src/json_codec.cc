#include "json_codec.h"

#include <cmath>
#include <cstring>

#include "codec/base64.h"
#include "errors.h"

namespace engram::server {

json parse_object(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw_bad_request("the body is not valid JSON");
  if (!j.is_object()) throw_bad_request("the body must be a JSON object");
  return j;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Response json_response(const json& j, int status) {
  Response res;
  res.status = status;
  res.body = dump(j);
  return res;
}

Encoding response_encoding(const json& body, const Request& req) {
  std::string enc = req.query("encoding", "json");
  if (auto it = body.find("encoding"); it != body.end()) {
    if (!it->is_string()) throw_bad_request("\"encoding\" must be \"json\" or \"base64\"");
    enc = it->get<std::string>();
  }
  if (enc == "json") return Encoding::kJson;
  if (enc == "base64") return Encoding::kBase64;
  throw_bad_request("\"encoding\" must be \"json\" or \"base64\", not \"" + enc + "\"");
}

bool has_matrix(const json& body, const std::string& field) {
  return body.contains(field) || body.contains(field + "_b64");
}

Matrix read_matrix(const json& body, const std::string& field, std::size_t dim, bool required) {
  Matrix m;
  m.cols = dim;
  const std::string b64_field = field + "_b64";
  auto plain = body.find(field);
  auto b64 = body.find(b64_field);
  if (plain != body.end() && b64 != body.end())
    throw_bad_request("give \"" + field + "\" or \"" + b64_field + "\", not both");
  if (b64 != body.end()) {
    if (!b64->is_string()) throw_bad_request("\"" + b64_field + "\" must be a base64 string");
    if (!base64_to_floats(b64->get_ref<const std::string&>(), m.data))
      throw_bad_request("\"" + b64_field + "\" is not base64 of float32 values");
    if (dim == 0 || m.data.size() % dim != 0)
      throw_invalid_argument("\"" + b64_field + "\" holds " + std::to_string(m.data.size()) +
                             " floats, not a multiple of the dimension " + std::to_string(dim));
    m.rows = m.data.size() / dim;
    return m;
  }
  if (plain == body.end()) {
    if (required) throw_bad_request("missing \"" + field + "\" (or \"" + b64_field + "\")");
    return m;
  }
  if (!plain->is_array()) throw_bad_request("\"" + field + "\" must be an array of rows");
  m.rows = plain->size();
  bool first = true;
  for (const json& row : *plain) {
    if (!row.is_array()) throw_bad_request("\"" + field + "\" must be an array of number arrays");
    if (first) {
      m.cols = row.size();
      m.data.reserve(m.rows * m.cols);
      first = false;
    } else if (row.size() != m.cols) {
      throw_invalid_argument("the rows of \"" + field + "\" differ in length (" +
                             std::to_string(m.cols) + " and " + std::to_string(row.size()) + ")");
    }
    for (const json& x : row) {
      if (!x.is_number()) throw_bad_request("\"" + field + "\" must hold numbers only");
      m.data.push_back(x.get<float>());
    }
  }
  return m;
}

void put_matrix(json& out, const std::string& field, const float* data, std::size_t rows,
                std::size_t cols, Encoding enc) {
  if (enc == Encoding::kBase64) {
    out[field + "_b64"] = floats_to_base64(data, rows * cols);
    return;
  }
  json m = json::array();
  for (std::size_t r = 0; r < rows; ++r) m.push_back(std::vector<float>(data + r * cols, data + (r + 1) * cols));
  out[field] = std::move(m);
}

void put_tensor3(json& out, const std::string& field, const std::vector<float>& data,
                 std::size_t rows, std::size_t k, std::size_t dim, Encoding enc) {
  if (enc == Encoding::kBase64) {
    out[field + "_b64"] = floats_to_base64(data.data(), rows * k * dim);
    return;
  }
  json t = json::array();
  for (std::size_t r = 0; r < rows; ++r) {
    json per_query = json::array();
    for (std::size_t j = 0; j < k; ++j) {
      const float* p = data.data() + (r * k + j) * dim;
      per_query.push_back(std::vector<float>(p, p + dim));
    }
    t.push_back(std::move(per_query));
  }
  out[field] = std::move(t);
}

json ids_to_json(const std::vector<SlotId>& ids, std::size_t rows, std::size_t k) {
  json out = json::array();
  for (std::size_t r = 0; r < rows; ++r) {
    json row = json::array();
    for (std::size_t j = 0; j < k; ++j) {
      SlotId id = ids[r * k + j];
      if (id == kNoSlot) row.push_back(-1);
      else row.push_back(id);
    }
    out.push_back(std::move(row));
  }
  return out;
}

json payloads_to_json(const std::vector<std::string>& payloads, std::size_t rows, std::size_t k) {
  json out = json::array();
  for (std::size_t r = 0; r < rows; ++r)
    out.push_back(std::vector<std::string>(payloads.begin() + r * k, payloads.begin() + (r + 1) * k));
  return out;
}

std::vector<SlotId> read_ids(const json& body, const std::string& field) {
  auto it = body.find(field);
  if (it == body.end()) throw_bad_request("missing \"" + field + "\"");
  if (!it->is_array()) throw_bad_request("\"" + field + "\" must be an array of slot ids");
  std::vector<SlotId> ids;
  ids.reserve(it->size());
  for (const json& x : *it) {
    if (!x.is_number_unsigned()) throw_bad_request("\"" + field + "\" must hold non-negative integers");
    ids.push_back(x.get<SlotId>());
  }
  return ids;
}

int get_int(const json& body, const std::string& field, int fallback) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) throw_bad_request("\"" + field + "\" must be an integer");
  auto v = it->get<std::int64_t>();
  // Out-of-int range values become an out-of-range int the core rejects (422), not a wrap.
  if (v > 1'000'000'000) return 1'000'000'000;
  if (v < -1'000'000'000) return -1'000'000'000;
  return static_cast<int>(v);
}

float get_float(const json& body, const std::string& field, float fallback) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number()) throw_bad_request("\"" + field + "\" must be a number");
  return it->get<float>();
}

bool get_bool(const json& body, const std::string& field, bool fallback) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw_bad_request("\"" + field + "\" must be true or false");
  return it->get<bool>();
}

std::optional<std::string> get_string(const json& body, const std::string& field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw_bad_request("\"" + field + "\" must be a string");
  return it->get<std::string>();
}

WriteOptions write_options(const json& body) {
  WriteOptions o;
  if (auto it = body.find("sync"); it != body.end() && !it->is_null()) o.sync = get_bool(body, "sync", true);
  return o;
}

std::vector<std::string> read_payloads(const json& body, const std::string& field) {
  std::vector<std::string> out;
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array()) throw_bad_request("\"" + field + "\" must be an array of strings");
  out.reserve(it->size());
  for (const json& p : *it) {
    if (!p.is_string()) throw_bad_request("\"" + field + "\" must hold strings only");
    out.push_back(p.get<std::string>());
  }
  return out;
}

void check_fields(const json& body, std::initializer_list<const char*> allowed) {
  for (auto it = body.begin(); it != body.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) throw_bad_request("unknown field \"" + it.key() + "\"");
  }
}

json encode_config(const MemoryConfig& c) {
  return json{{"key_dim", c.key_dim},         {"value_dim", c.value_dim},
              {"metric", metric_name(c.metric)}, {"index", c.index},
              {"search_params", c.search_params}, {"default_k", c.default_k},
              {"temperature", c.temperature}, {"gate_bias", c.gate_bias},
              {"sync", c.sync},               {"cache_values", c.cache_values},
              {"device", c.device}};
}

MemoryConfig decode_config(const json& body) {
  check_fields(body, {"key_dim", "value_dim", "metric", "index", "search_params", "default_k",
                      "temperature", "gate_bias", "sync", "cache_values", "device"});
  MemoryConfig c;
  if (!body.contains("key_dim") || !body.contains("value_dim"))
    throw_bad_request("a memory needs \"key_dim\" and \"value_dim\"");
  c.key_dim = get_int(body, "key_dim", 0);
  c.value_dim = get_int(body, "value_dim", 0);
  if (auto m = get_string(body, "metric")) c.metric = parse_metric(*m);
  if (auto s = get_string(body, "index")) c.index = *s;
  if (auto s = get_string(body, "search_params")) c.search_params = *s;
  if (auto s = get_string(body, "device")) c.device = *s;
  c.default_k = get_int(body, "default_k", c.default_k);
  c.temperature = get_float(body, "temperature", c.temperature);
  c.gate_bias = get_float(body, "gate_bias", c.gate_bias);
  c.sync = get_bool(body, "sync", c.sync);
  c.cache_values = get_bool(body, "cache_values", c.cache_values);
  return c;
}

json encode_stats(const MemoryStats& s) {
  return json{{"slots", s.slots},
              {"indexed", s.indexed},
              {"tombstones", s.tombstones},
              {"trained", s.trained},
              {"next_id", s.next_id},
              {"op_seq", s.op_seq},
              {"checkpoint_op_seq", s.checkpoint_op_seq}};
}

json encode_slot(const Slot& slot, Encoding enc) {
  json j = {{"id", slot.id}, {"payload", slot.payload}};
  if (enc == Encoding::kBase64) {
    j["key_b64"] = floats_to_base64(slot.key.data(), slot.key.size());
    j["value_b64"] = floats_to_base64(slot.value.data(), slot.value.size());
  } else {
    j["key"] = slot.key;
    j["value"] = slot.value;
  }
  return j;
}

}  // namespace engram::server
