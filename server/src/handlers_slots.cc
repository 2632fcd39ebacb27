// handlers_slots.cc — slots by id: insert, get, update, erase (single and batch).
#include <cctype>

#include "body_decoder.h"
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

// A patch changes any of key, value and payload: PUT …/slots/{id} takes them with "sync", each
// patch of POST …/update with its "id".
const Schema kPutSlotFields = {Field::floats("key"), Field::floats("value"), Field::any("payload"),
                               Field::scalar("sync")};
const Schema kPatchFields = {Field::scalar("id"), Field::floats("key"), Field::floats("value"),
                             Field::any("payload")};

SlotPatch read_patch(Fields& f, SlotId id) {
  SlotPatch patch;
  patch.id = id;
  patch.key = f.take_floats("key");
  patch.value = f.take_floats("value");
  // A string, or a JSON object (a structured payload, stored as its text); null: unchanged.
  if (auto it = f.scalars.find("payload"); it != f.scalars.end() && !it->is_null())
    patch.payload = payload_text(*it, "payload");
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
  // A payload is a string, or a JSON object (a structured payload, which filters look into).
  router.add("POST", "/v1/memories/{name}/slots", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    const MemoryConfig config = mem->config();
    Fields fields = service.decode(req, {Field::matrix("keys", config.key_dim),
                                         Field::matrix("values", config.value_dim),
                                         Field::strings("payloads"), Field::scalar("sync")});
    Matrix keys = fields.take_matrix("keys");
    Matrix values = fields.take_matrix("values");
    auto payloads = fields.take_strings("payloads");
    auto ids = mem->insert(keys.view(), values.view(), payloads, write_options(fields.scalars));
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
    Fields fields = service.decode(req, kPutSlotFields);
    mem->update({read_patch(fields, id)}, write_options(fields.scalars));
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
    Fields fields = service.decode(req, {Field::ids("ids"), Field::scalar("encoding")});
    auto ids = fields.take_ids("ids");
    Encoding enc = response_encoding(fields.scalars, req);
    const MemoryConfig config = mem->config();
    service.check_answer(ids.size() * (config.key_dim + config.value_dim), enc == Encoding::kBase64);
    json slots = json::array();
    for (const Slot& s : mem->get(ids)) slots.push_back(encode_slot(s, enc));
    return json_response({{"slots", std::move(slots)}});
  });

  router.add("POST", "/v1/memories/{name}/update", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    Fields fields = service.decode(req, {Field::objects("patches", &kPatchFields), Field::scalar("sync")});
    std::vector<SlotPatch> patches;
    for (Fields& f : fields.take_objects("patches")) {
      auto id = f.scalars.find("id");
      if (id == f.scalars.end() || !id->is_number_unsigned())
        throw_bad_request("every patch needs a non-negative integer \"id\"");
      patches.push_back(read_patch(f, id->get<SlotId>()));
    }
    mem->update(patches, write_options(fields.scalars));
    return json_response({{"updated", patches.size()}});
  });

  router.add("POST", "/v1/memories/{name}/erase", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    // {"ids": [...]} erases those slots; {"filter": {...}} every slot the filter accepts.
    Fields fields = service.decode(req, {Field::ids("ids"), Field::any("filter"), Field::scalar("sync")});
    if (fields.scalars.contains("filter")) {
      if (fields.take_ids_if_given("ids")) throw_bad_request("give \"ids\" or \"filter\", not both");
      const Filter filter = get_filter(fields.scalars);
      return json_response({{"erased", mem->erase_matching(filter, write_options(fields.scalars))}});
    }
    auto ids = fields.take_ids("ids");
    mem->erase(ids, write_options(fields.scalars));
    return json_response({{"erased", ids.size()}});
  });
}

}  // namespace engram::server
