// handlers_ops.cc — the attention operations: read, retrieve, write, search (each optionally
// limited to the slots a "filter" accepts, engram/filter.h).
//
// Each takes a batch of queries and answers one row per query with k entries (padded with id
// -1 where fewer than k slots exist), in the encoding the request asks for.
#include "body_decoder.h"
#include "errors.h"
#include "json_codec.h"
#include "service.h"

namespace engram::server {

namespace {
// Rows of a result: ids hold rows × k entries (k is 0 only for an empty batch).
std::size_t rows_of(std::size_t id_count, std::size_t k, std::size_t fallback) {
  return k ? id_count / k : fallback;
}

// The k a call will use, for sizing its answer before it runs (the core validates it).
std::size_t k_of(const json& body, const MemoryConfig& config) {
  const int k = get_int(body, "k", 0);
  return static_cast<std::size_t>(k >= 1 && k <= kMaxK ? k : k == 0 ? config.default_k : 1);
}

// "params" of a search or read: per-call index settings, {"ef": N, "nprobe": N}.
const Schema kSearchParams = {Field::scalar("ef"), Field::scalar("nprobe")};

// A "params" value that is not an integer is a 400 (as for k); an integer out of range is the
// core's to refuse (422 invalid_argument, naming the field and its range), also as for k.
int param_int(const json& params, const char* field) {
  auto it = params.find(field);
  if (it == params.end() || it->is_null()) return 0;
  if (!it->is_number_integer()) throw_bad_request(std::string("\"") + field + "\" in \"params\" must be an integer");
  return get_int(params, field, 0);
}

// k, "params" and "filter" of a read, retrieve, write or search.
SearchOptions search_options(const json& body, Fields& fields) {
  SearchOptions o;
  o.k = get_int(body, "k", 0);
  if (std::optional<Fields> params = fields.take_object("params")) {
    o.ef = param_int(params->scalars, "ef");
    o.nprobe = param_int(params->scalars, "nprobe");
  }
  o.filter = get_filter(body);
  return o;
}
}  // namespace

void add_op_routes(Router& router, Service& service) {
  router.add("POST", "/v1/memories/{name}/read", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    const MemoryConfig config = mem->config();
    Fields fields = service.decode(req, {Field::matrix("queries", config.key_dim), Field::scalar("k"),
                                         Field::scalar("temperature"), Field::object("params", &kSearchParams),
                                         Field::any("filter"), Field::scalar("encoding")});
    const json& body = fields.scalars;
    Encoding enc = response_encoding(body, req);
    Matrix q = fields.take_matrix("queries");
    const std::size_t k = k_of(body, config);
    service.check_answer(q.rows * (config.value_dim + 2 * k), enc == Encoding::kBase64);
    SearchOptions o = search_options(body, fields);
    o.temperature = get_float(body, "temperature", 0);
    ReadResult r = mem->read(q.view(), o);
    std::size_t rows = rows_of(r.ids.size(), r.k, q.rows);
    json out = {{"k", r.k}, {"ids", ids_to_json(r.ids, rows, r.k)}};
    put_matrix(out, "reads", r.reads.data(), rows, r.value_dim, enc);
    put_matrix(out, "weights", r.weights.data(), rows, r.k, enc);
    return json_response(out);
  });

  router.add("POST", "/v1/memories/{name}/retrieve", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    const MemoryConfig config = mem->config();
    Fields fields = service.decode(req, {Field::matrix("queries", config.key_dim), Field::scalar("k"),
                                         Field::scalar("payloads"), Field::object("params", &kSearchParams),
                                         Field::any("filter"), Field::scalar("encoding")});
    const json& body = fields.scalars;
    Encoding enc = response_encoding(body, req);
    Matrix q = fields.take_matrix("queries");
    bool with_payloads = get_bool(body, "payloads", false);
    service.check_answer(q.rows * k_of(body, config) * (config.key_dim + config.value_dim + 2),
                         enc == Encoding::kBase64);
    SearchOptions o = search_options(body, fields);
    o.with_payloads = with_payloads;
    RetrieveResult r = mem->retrieve(q.view(), o);
    std::size_t rows = rows_of(r.ids.size(), r.k, q.rows);
    json out = {{"k", r.k}, {"ids", ids_to_json(r.ids, rows, r.k)}};
    put_matrix(out, "scores", r.scores.data(), rows, r.k, enc);
    put_tensor3(out, "keys", r.keys, rows, r.k, r.key_dim, enc);
    put_tensor3(out, "values", r.values, rows, r.k, r.value_dim, enc);
    if (with_payloads) out["payloads"] = payloads_to_json(r.payloads, rows, r.k);
    return json_response(out);
  });

  router.add("POST", "/v1/memories/{name}/write", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    const MemoryConfig config = mem->config();
    Fields fields = service.decode(req, {Field::matrix("queries", config.key_dim),
                                         Field::matrix("values", config.value_dim), Field::scalar("k"),
                                         Field::object("params", &kSearchParams), Field::any("filter"),
                                         Field::scalar("sync"), Field::scalar("encoding")});
    const json& body = fields.scalars;
    Encoding enc = response_encoding(body, req);
    Matrix q = fields.take_matrix("queries");
    Matrix v = fields.take_matrix("values");
    service.check_answer(q.rows * k_of(body, config) * 2, enc == Encoding::kBase64);
    WriteResult r = mem->write(q.view(), v.view(), search_options(body, fields), write_options(body));
    std::size_t rows = rows_of(r.ids.size(), r.k, q.rows);
    json out = {{"k", r.k}, {"ids", ids_to_json(r.ids, rows, r.k)}};
    put_matrix(out, "gates", r.gates.data(), rows, r.k, enc);
    return json_response(out);
  });

  router.add("POST", "/v1/memories/{name}/search", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    const MemoryConfig config = mem->config();
    Fields fields = service.decode(req, {Field::matrix("queries", config.key_dim), Field::scalar("k"),
                                         Field::scalar("payloads"), Field::object("params", &kSearchParams),
                                         Field::any("filter"), Field::scalar("encoding")});
    const json& body = fields.scalars;
    Encoding enc = response_encoding(body, req);
    Matrix q = fields.take_matrix("queries");
    bool with_payloads = get_bool(body, "payloads", false);
    service.check_answer(q.rows * k_of(body, config) * 2, enc == Encoding::kBase64);
    SearchOptions o = search_options(body, fields);
    o.with_payloads = with_payloads;
    SearchResult r = mem->search(q.view(), o);
    std::size_t rows = rows_of(r.ids.size(), r.k, q.rows);
    json out = {{"k", r.k}, {"ids", ids_to_json(r.ids, rows, r.k)}};
    put_matrix(out, "scores", r.scores.data(), rows, r.k, enc);
    if (with_payloads) out["payloads"] = payloads_to_json(r.payloads, rows, r.k);
    return json_response(out);
  });
}

}  // namespace engram::server
