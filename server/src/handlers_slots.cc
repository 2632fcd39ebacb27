// handlers_slots.cc — slots by id: insert, get, update, erase (single and batch).
#include <cctype>

#include "codec/base64.h"
#include "errors.h"
#include "json_codec.h"
#include "service.h"

namespace engram::server {

namespace {
SlotId parse_id(const std::string& text) {
  if (text.empty() || text.size() > 20) throw_bad_request("\"" + text + "\" is not a slot id");
  for (char c : text)
    if (!std::isdigit(static_cast<unsigned char>(c))) throw_bad_request("\"" + text + "\" is not a slot id");
  try {
    return std::stoull(text);
  } catch (const std::exception&) {
    throw_bad_request("\"" + text + "\" is not a slot id");
  }
}

// One vector given as "field": [...] or "field_b64": "...".
std::optional<std::vector<float>> read_vector(const json& body, const std::string& field) {
  auto plain = body.find(field);
  auto b64 = body.find(field + "_b64");
  if (plain != body.end() && b64 != body.end())
    throw_bad_request("give \"" + field + "\" or \"" + field + "_b64\", not both");
  std::vector<float> v;
  if (b64 != body.end()) {
    if (!b64->is_string() || !base64_to_floats(b64->get_ref<const std::string&>(), v))
      throw_bad_request("\"" + field + "_b64\" is not base64 of float32 values");
    return v;
  }
  if (plain == body.end() || plain->is_null()) return std::nullopt;
  if (!plain->is_array()) throw_bad_request("\"" + field + "\" must be an array of numbers");
  for (const json& x : *plain) {
    if (!x.is_number()) throw_bad_request("\"" + field + "\" must hold numbers only");
    v.push_back(x.get<float>());
  }
  return v;
}

SlotPatch read_patch(const json& j, SlotId id) {
  if (!j.is_object()) throw_bad_request("a patch must be a JSON object");
  SlotPatch patch;
  patch.id = id;
  patch.key = read_vector(j, "key");
  patch.value = read_vector(j, "value");
  patch.payload = get_string(j, "payload");
  return patch;
}

Response no_content() {
  Response res;
  res.status = 204;
  res.content_type.clear();
  return res;
}
}  // namespace

void add_slot_routes(Router& router, Service& service) {
  // Insert a batch: {"keys": [[...]], "values": [[...]], "payloads": [...]} -> {"ids": [...]}.
  router.add("POST", "/v1/memories/{name}/slots", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    json body = parse_object(req.body);
    check_fields(body, {"keys", "keys_b64", "values", "values_b64", "payloads", "sync"});
    MemoryConfig config = mem->config();
    Matrix keys = read_matrix(body, "keys", config.key_dim);
    Matrix values = read_matrix(body, "values", config.value_dim);
    service.check_batch(keys.rows, "\"keys\"");
    auto payloads = read_payloads(body, "payloads");
    auto ids = mem->insert(keys.view(), values.view(), payloads, write_options(body));
    return json_response({{"ids", ids}});
  });

  router.add("GET", "/v1/memories/{name}/slots/{id}", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    SlotId id = parse_id(p.at("id"));
    Encoding enc = response_encoding(json::object(), req);
    return json_response(encode_slot(mem->get({id}).at(0), enc));
  });

  // Changes the fields given: {"key": [...], "value": [...], "payload": "..."} (each optional).
  router.add("PUT", "/v1/memories/{name}/slots/{id}", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    SlotId id = parse_id(p.at("id"));
    json body = parse_object(req.body);
    check_fields(body, {"key", "key_b64", "value", "value_b64", "payload", "sync"});
    mem->update({read_patch(body, id)}, write_options(body));
    return no_content();
  });

  router.add("DELETE", "/v1/memories/{name}/slots/{id}", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    SlotId id = parse_id(p.at("id"));
    WriteOptions options;
    options.sync = Service::query_flag(req, "sync");
    mem->erase({id}, options);
    return no_content();
  });

  // Batch forms, for clients that move many slots per round trip (RemoteMemory uses these).
  router.add("POST", "/v1/memories/{name}/get", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    json body = parse_object(req.body);
    check_fields(body, {"ids", "encoding"});
    auto ids = read_ids(body, "ids");
    service.check_batch(ids.size(), "\"ids\"");
    Encoding enc = response_encoding(body, req);
    json slots = json::array();
    for (const Slot& s : mem->get(ids)) slots.push_back(encode_slot(s, enc));
    return json_response({{"slots", std::move(slots)}});
  });

  router.add("POST", "/v1/memories/{name}/update", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    json body = parse_object(req.body);
    check_fields(body, {"patches", "sync"});
    auto it = body.find("patches");
    if (it == body.end() || !it->is_array()) throw_bad_request("\"patches\" must be an array");
    service.check_batch(it->size(), "\"patches\"");
    std::vector<SlotPatch> patches;
    for (const json& j : *it) {
      if (!j.is_object() || !j.contains("id") || !j["id"].is_number_unsigned())
        throw_bad_request("every patch needs a non-negative integer \"id\"");
      check_fields(j, {"id", "key", "key_b64", "value", "value_b64", "payload"});
      patches.push_back(read_patch(j, j["id"].get<SlotId>()));
    }
    mem->update(patches, write_options(body));
    return json_response({{"updated", patches.size()}});
  });

  router.add("POST", "/v1/memories/{name}/erase", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    json body = parse_object(req.body);
    check_fields(body, {"ids", "sync"});
    auto ids = read_ids(body, "ids");
    service.check_batch(ids.size(), "\"ids\"");
    mem->erase(ids, write_options(body));
    return json_response({{"erased", ids.size()}});
  });
}

}  // namespace engram::server
