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
const Schema kPatchFields = {Field::scalar("id"), Field::any("external_id"), Field::floats("key"),
                             Field::floats("value"), Field::any("payload")};

std::vector<ExternalId> external_ids(const Service& service, const json& scalars) {
  return external_ids_from_json(scalars.at("external_ids"), "external_ids", service.options().max_batch);
}

// "ids", or "external_ids" resolved to ids: exactly one of them (400 otherwise).
std::vector<SlotId> ids_or_external(const Service& service, MemoryInterface& mem, Fields& fields) {
  auto ids = fields.take_ids_if_given("ids");
  const bool external = fields.scalars.contains("external_ids");
  if (ids.has_value() == external) throw_bad_request("give \"ids\" or \"external_ids\", one of them");
  return ids ? *ids : mem.resolve(external_ids(service, fields.scalars));
}

json parse_query_json(const std::string& text, const std::string& name) {
  json v = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded()) throw_bad_request("?" + name + "= is not valid JSON");
  return v;
}

Response scroll_response(const Service& service, MemoryInterface& mem, const json& body, Encoding enc) {
  ScrollOptions o;
  const int limit = get_int(body, "limit", 100);
  if (limit < 1) throw HttpError(422, "invalid_argument", "limit must be in 1.." + std::to_string(kMaxScrollLimit) + ", got " + std::to_string(limit));
  o.limit = static_cast<std::size_t>(limit);
  o.cursor = get_string(body, "cursor").value_or("");
  o.filter = get_filter(body);
  o.with_keys = get_bool(body, "with_keys", false);
  o.with_values = get_bool(body, "with_values", false);
  const MemoryConfig config = mem.config();
  service.check_answer(o.limit * static_cast<std::size_t>((o.with_keys ? config.key_dim : 0) + (o.with_values ? config.value_dim : 0)),
                       enc == Encoding::kBase64);
  ScrollPage page = mem.scroll(o);
  json slots = json::array();
  for (const Slot& s : page.slots) slots.push_back(encode_slot(s, enc));
  return json_response({{"slots", std::move(slots)},
                        {"next_cursor", page.next_cursor.empty() ? json(nullptr) : json(page.next_cursor)}});
}

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
  // With "external_ids" (the caller's own ids, one per row), the slots are inserted with them,
  // and with "upsert": true a row whose id a slot has replaces that slot.
  router.add("POST", "/v1/memories/{name}/slots", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    const MemoryConfig config = mem->config();
    Fields fields = service.decode(req, {Field::matrix("keys", config.key_dim),
                                         Field::matrix("values", config.value_dim),
                                         Field::strings("payloads"), Field::any("external_ids"),
                                         Field::scalar("upsert"), Field::scalar("sync")});
    Matrix keys = fields.take_matrix("keys");
    Matrix values = fields.take_matrix("values");
    auto payloads = fields.take_strings("payloads");
    const bool upsert = get_bool(fields.scalars, "upsert", false);
    const WriteOptions options = write_options(fields.scalars);
    if (!fields.scalars.contains("external_ids")) {
      if (upsert) throw_bad_request("\"upsert\" needs \"external_ids\": the ids that decide which slots are replaced");
      return json_response({{"ids", mem->insert(keys.view(), values.view(), payloads, options)}});
    }
    const auto external = external_ids(service, fields.scalars);
    auto ids = upsert ? mem->upsert(external, keys.view(), values.view(), payloads, options)
                      : mem->insert(external, keys.view(), values.view(), payloads, options);
    return json_response({{"ids", ids}});
  });

  // A page of slots in id order: ?limit=&cursor=&filter=<JSON, percent-encoded>&with_keys=&with_values=
  // -> {"slots": [...], "next_cursor": "..." | null}. POST …/scroll takes the same as a body.
  router.add("GET", "/v1/memories/{name}/slots", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    json body = json::object();
    for (const char* name : {"limit", "cursor", "filter", "with_keys", "with_values"}) {
      const std::string none = "\x01";
      std::string v = req.query_text(name, none);
      if (v == none) continue;
      if (std::string(name) == "cursor") body[name] = v;
      else if (std::string(name) == "filter") body[name] = parse_query_json(v, name);
      else if (std::string(name) == "limit") body[name] = parse_query_json(v, name);
      else body[name] = Service::query_flag(req, name).value();
    }
    return scroll_response(service, *mem, body, response_encoding(json::object(), req));
  });
  router.add("POST", "/v1/memories/{name}/scroll", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    Fields fields = service.decode(req, {Field::scalar("limit"), Field::scalar("cursor"), Field::any("filter"),
                                         Field::scalar("with_keys"), Field::scalar("with_values"),
                                         Field::scalar("encoding")});
    return scroll_response(service, *mem, fields.scalars, response_encoding(fields.scalars, req));
  });

  // The payload index: GET lists the indexed fields, POST {"field": "a.b"} indexes one (building
  // it from the stored payloads), POST …/drop {"field": ...} drops one. Field keys may hold any
  // character, so they travel in the body rather than the path.
  router.add("GET", "/v1/memories/{name}/payload-index", [&service](const Request&, const Params& p) {
    return json_response({{"fields", service.memory(p.at("name"))->payload_indexes()}});
  });
  for (const bool create : {true, false}) {
    router.add("POST", create ? "/v1/memories/{name}/payload-index" : "/v1/memories/{name}/payload-index/drop",
               [&service, create](const Request& req, const Params& p) {
                 auto mem = service.memory(p.at("name"));
                 Fields fields = service.decode(req, {Field::scalar("field")});
                 const auto field = get_string(fields.scalars, "field");
                 if (!field) throw_bad_request("\"field\" (a string) is required");
                 if (create) mem->create_payload_index(*field);
                 else mem->drop_payload_index(*field);
                 return json_response({{"fields", mem->payload_indexes()}});
               });
  }

  // {"external_ids": [...]} -> {"ids": [...]}: the slots with the caller's ids (404 naming the
  // first unknown one).
  router.add("POST", "/v1/memories/{name}/resolve", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    Fields fields = service.decode(req, {Field::any("external_ids")});
    if (!fields.scalars.contains("external_ids")) throw_bad_request("\"external_ids\" is required");
    return json_response({{"ids", mem->resolve(external_ids(service, fields.scalars))}});
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
    Fields fields = service.decode(req, {Field::ids("ids"), Field::any("external_ids"), Field::scalar("encoding")});
    auto ids = ids_or_external(service, *mem, fields);
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
    std::vector<ExternalId> external;  // patches that name their slot by the caller's id, in order
    std::vector<std::size_t> external_at;
    for (Fields& f : fields.take_objects("patches")) {
      auto id = f.scalars.find("id");
      auto ext = f.scalars.find("external_id");
      if (ext != f.scalars.end() && id == f.scalars.end()) {
        external.push_back(external_ids_from_json(json::array({*ext}), "external_id", 1)[0]);
        external_at.push_back(patches.size());
        patches.push_back(read_patch(f, kNoSlot));
        continue;
      }
      if (id == f.scalars.end() || !id->is_number_unsigned() || ext != f.scalars.end())
        throw_bad_request("every patch needs a non-negative integer \"id\" or an \"external_id\" (one of them)");
      patches.push_back(read_patch(f, id->get<SlotId>()));
    }
    const std::vector<SlotId> resolved = external.empty() ? std::vector<SlotId>() : mem->resolve(external);
    for (std::size_t i = 0; i < resolved.size(); ++i) patches[external_at[i]].id = resolved[i];
    mem->update(patches, write_options(fields.scalars));
    return json_response({{"updated", patches.size()}});
  });

  router.add("POST", "/v1/memories/{name}/erase", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    // {"ids": [...]} erases those slots; {"filter": {...}} every slot the filter accepts.
    // {"external_ids": [...]} those with the caller's ids.
    Fields fields = service.decode(req, {Field::ids("ids"), Field::any("external_ids"), Field::any("filter"), Field::scalar("sync")});
    if (fields.scalars.contains("filter")) {
      if (fields.take_ids_if_given("ids") || fields.scalars.contains("external_ids"))
        throw_bad_request("give \"ids\", \"external_ids\" or \"filter\", one of them");
      const Filter filter = get_filter(fields.scalars);
      return json_response({{"erased", mem->erase_matching(filter, write_options(fields.scalars))}});
    }
    auto ids = ids_or_external(service, *mem, fields);
    mem->erase(ids, write_options(fields.scalars));
    return json_response({{"erased", ids.size()}});
  });
}

}  // namespace engram::server
