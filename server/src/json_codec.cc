#include "json_codec.h"

#include "codec/base64.h"
#include "errors.h"

namespace engram::server {

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
  const std::string query = req.query("encoding", "json");
  const std::string* enc = &query;
  if (auto it = body.find("encoding"); it != body.end()) {
    if (!it->is_string()) throw_bad_request("\"encoding\" must be \"json\" or \"base64\"");
    enc = &it->get_ref<const std::string&>();  // not copied: it may be as long as the body
  }
  if (*enc == "json") return Encoding::kJson;
  if (*enc == "base64") return Encoding::kBase64;
  throw_bad_request("\"encoding\" must be \"json\" or \"base64\", not \"" + enc->substr(0, 64) + "\"");
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

const std::vector<const char*> kConfigFields = {"key_dim", "value_dim", "metric", "index",
                                               "search_params", "ef_construction", "default_k", "temperature",
                                               "gate_bias", "sync", "cache_values", "device"};

json encode_config(const MemoryConfig& c) {
  return json{{"key_dim", c.key_dim},         {"value_dim", c.value_dim},
              {"metric", metric_name(c.metric)}, {"index", c.index},
              {"search_params", c.search_params}, {"ef_construction", c.ef_construction},
              {"default_k", c.default_k},
              {"temperature", c.temperature}, {"gate_bias", c.gate_bias},
              {"sync", c.sync},               {"cache_values", c.cache_values},
              {"device", c.device}};
}

MemoryConfig decode_config(const json& body) {
  for (auto it = body.begin(); it != body.end(); ++it) {
    bool known = false;
    for (const char* f : kConfigFields) known = known || it.key() == f;
    if (!known) throw_bad_request("unknown field \"" + it.key() + "\"");
  }
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
  c.ef_construction = get_int(body, "ef_construction", c.ef_construction);
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
              {"checkpoint_op_seq", s.checkpoint_op_seq},
              {"index_bytes", s.index_bytes},
              {"checkpoint_age_s", s.checkpoint_age_s},
              {"store_bytes", s.store_bytes}};
}

json encode_slot(const Slot& slot, Encoding enc) {
  json j = {{"id", slot.id}, {"payload", slot.payload}};
  if (slot.external_id) j["external_id"] = external_id_to_json(*slot.external_id);
  for (const auto& [name, v] : {std::pair<const char*, const std::vector<float>*>{"key", &slot.key}, {"value", &slot.value}}) {
    if (v->empty()) continue;
    if (enc == Encoding::kBase64) j[std::string(name) + "_b64"] = floats_to_base64(v->data(), v->size());
    else j[name] = *v;
  }
  return j;
}

Slot decode_slot(const json& j) {
  Slot slot;
  slot.id = j.at("id").get<SlotId>();
  for (const auto& [name, v] : {std::pair<const char*, std::vector<float>*>{"key", &slot.key}, {"value", &slot.value}}) {
    if (auto b64 = j.find(std::string(name) + "_b64"); b64 != j.end()) {
      if (!base64_to_floats(b64->get_ref<const std::string&>(), *v))
        throw Error(ErrorCode::kInternal, std::string("the server sent a malformed ") + name + "_b64");
    } else if (auto plain = j.find(name); plain != j.end()) {
      *v = plain->get<std::vector<float>>();
    }
  }
  slot.payload = j.value("payload", "");
  if (auto e = j.find("external_id"); e != j.end()) slot.external_id = external_ids_from_json(json::array({*e}), "external_id", 1)[0];
  return slot;
}

std::vector<ExternalId> external_ids_from_json(const json& list, const std::string& field, std::size_t max) {
  if (!list.is_array()) throw_bad_request("\"" + field + "\" must be an array of external ids (integers >= 0 or strings)");
  if (list.size() > max)
    throw HttpError(413, "batch_too_large", "\"" + field + "\" holds " + std::to_string(list.size()) + " ids, over the limit of " + std::to_string(max));
  std::vector<ExternalId> out;
  out.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json& v = list[i];
    if (v.is_number_unsigned()) out.emplace_back(v.get<std::uint64_t>());
    else if (v.is_number_integer() && v.get<std::int64_t>() >= 0) out.emplace_back(static_cast<std::uint64_t>(v.get<std::int64_t>()));
    else if (v.is_string()) out.emplace_back(v.get<std::string>());
    else throw_bad_request("\"" + field + "\"[" + std::to_string(i) + "] must be an integer >= 0 or a string");
  }
  return out;
}

json external_id_to_json(const ExternalId& id) { return id.is_number() ? json(id.number()) : json(id.text()); }

Filter get_filter(const json& body) {
  auto it = body.find("filter");
  if (it == body.end() || it->is_null()) return Filter();
  return Filter::parse(it->dump());
}

std::string payload_text(const json& v, const std::string& what) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object()) return v.dump();
  throw_bad_request("\"" + what + "\" must be a string or a JSON object");
}

}  // namespace engram::server
