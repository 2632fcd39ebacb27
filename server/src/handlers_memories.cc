// handlers_memories.cc — the memory collection: list, create, describe, drop.
#include "body_decoder.h"
#include "errors.h"
#include "json_codec.h"
#include "service.h"

namespace engram::server {

void add_memory_routes(Router& router, Service& service) {
  // Lists every memory, and under "unavailable" those that cannot be opened (an index that
  // cannot be built or loaded) with the reason: they stay listed, can be dropped, and do not
  // stop the others from being served. Opening is cached, so listing again costs little.
  router.add("GET", "/v1/memories", [&service](const Request&, const Params&) {
    const std::vector<std::string> names = service.database().list_memories();
    json unavailable = json::array();
    for (const std::string& name : names) {
      try {
        service.memory(name);
      } catch (const Error& e) {
        if (e.code() != ErrorCode::kNotFound) unavailable.push_back({{"name", name}, {"error", e.what()}});
      }
    }
    return json_response({{"memories", names}, {"unavailable", unavailable}});
  });

  router.add("PUT", "/v1/memories/{name}", [&service](const Request& req, const Params& p) {
    const std::string& name = p.at("name");
    Schema schema;
    for (const char* f : kConfigFields) schema.push_back(Field::scalar(f));
    MemoryConfig config = decode_config(service.decode(req, schema).scalars);
    auto mem = service.database().create_memory(name, config);
    return json_response({{"name", name}, {"config", encode_config(mem->config())}}, 201);
  });

  router.add("GET", "/v1/memories/{name}", [&service](const Request&, const Params& p) {
    const std::string& name = p.at("name");
    auto mem = service.memory(name);
    return json_response(
        {{"name", name}, {"config", encode_config(mem->config())}, {"stats", encode_stats(mem->stats())}});
  });

  router.add("DELETE", "/v1/memories/{name}", [&service](const Request&, const Params& p) {
    service.database().drop_memory(p.at("name"));
    Response res;
    res.status = 204;
    res.content_type.clear();
    return res;
  });
}

}  // namespace engram::server
