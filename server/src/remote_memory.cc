// remote_memory.cc — engram::MemoryInterface over the HTTP API, base64 on the wire.
#include <engram/remote_memory.h>

#include <engram/error.h>

#include "codec/base64.h"
#include "errors.h"
#include "http_client.h"
#include "json_codec.h"

namespace engram {

using server::json;

namespace {

// Sends a request; returns the parsed JSON body, or throws the engram::Error the server reported.
json call(detail::HttpClient& client, const std::string& method, const std::string& target,
          const json* body = nullptr) {
  auto res = client.request(method, target, body ? server::dump(*body) : std::string());
  if (res.status >= 400) {
    json err = json::parse(res.body, nullptr, false);
    std::string code, message = "HTTP " + std::to_string(res.status);
    if (!err.is_discarded() && err.is_object() && err.contains("error") && err["error"].is_object()) {
      code = err["error"].value("code", "");
      message = err["error"].value("message", message);
    }
    throw Error(server::error_code_from_wire(res.status, code), message);
  }
  if (res.body.empty()) return json::object();
  json j = json::parse(res.body, nullptr, false);
  if (j.is_discarded())
    throw Error(ErrorCode::kUnavailable, "remote memory: the server's answer to " + target + " is not JSON");
  return j;
}

std::string b64(MatrixView m) { return floats_to_base64(m.data, m.rows * m.cols); }

// The wire needs the row count implied by the dimension, so a view of the wrong width is refused
// here with the message the embedded memory would give.
void check_cols(MatrixView m, int dim, const char* what) {
  if (m.cols != static_cast<std::size_t>(dim))
    throw Error(ErrorCode::kInvalidArgument, std::string(what) + " have " + std::to_string(m.cols) +
                                                 " columns; the memory's dimension is " + std::to_string(dim));
}

std::vector<float> floats(const json& j, const std::string& field) {
  std::vector<float> out;
  auto it = j.find(field + "_b64");
  if (it == j.end() || !it->is_string() || !base64_to_floats(it->get_ref<const std::string&>(), out))
    throw Error(ErrorCode::kInternal, "remote memory: the server's answer lacks \"" + field + "_b64\"");
  return out;
}

std::vector<SlotId> ids(const json& j) {
  std::vector<SlotId> out;
  for (const json& row : j.at("ids"))
    for (const json& id : row) out.push_back(id.is_number_unsigned() ? id.get<SlotId>() : kNoSlot);
  return out;
}

std::vector<std::string> payloads(const json& j) {
  std::vector<std::string> out;
  if (auto it = j.find("payloads"); it != j.end())
    for (const json& row : *it)
      for (const json& p : row) out.push_back(p.get<std::string>());
  return out;
}

void put_sync(json& body, const WriteOptions& options) {
  if (options.sync) body["sync"] = *options.sync;
}

// "params": {"ef": .., "nprobe": ..} with the overrides the call sets (none: no "params"), and
// the call's "filter".
void put_search_params(json& body, const SearchOptions& options) {
  json params = json::object();
  if (options.ef != 0) params["ef"] = options.ef;
  if (options.nprobe != 0) params["nprobe"] = options.nprobe;
  if (!params.empty()) body["params"] = std::move(params);
  if (!options.filter.empty()) body["filter"] = json::parse(options.filter.json());
}

MemoryConfig config_of(const json& j) { return server::decode_config(j.at("config")); }

}  // namespace

RemoteMemory::RemoteMemory(const RemoteOptions& options, const std::string& name)
    : RemoteMemory(std::make_shared<detail::HttpClient>(options), name) {}

RemoteMemory::RemoteMemory(std::shared_ptr<detail::HttpClient> client, const std::string& name)
    : client_(std::move(client)), name_(name), base_("/v1/memories/" + name) {
  config_ = config_of(call(*client_, "GET", base_));
}

RemoteMemory::~RemoteMemory() = default;

MemoryConfig RemoteMemory::config() const { return config_; }

std::vector<SlotId> RemoteMemory::insert(MatrixView keys, MatrixView values,
                                         const std::vector<std::string>& payload_list,
                                         const WriteOptions& options) {
  check_cols(keys, config_.key_dim, "keys");
  check_cols(values, config_.value_dim, "values");
  json body = {{"keys_b64", b64(keys)}, {"values_b64", b64(values)}};
  if (!payload_list.empty()) body["payloads"] = payload_list;
  put_sync(body, options);
  json res = call(*client_, "POST", base_ + "/slots", &body);
  return res.at("ids").get<std::vector<SlotId>>();
}

std::vector<SlotId> RemoteMemory::insert(const std::vector<ExternalId>& ids, MatrixView keys, MatrixView values,
                                         const std::vector<std::string>& payloads, const WriteOptions& options) {
  return insert_keyed(ids, keys, values, payloads, options, false);
}

std::vector<SlotId> RemoteMemory::upsert(const std::vector<ExternalId>& ids, MatrixView keys, MatrixView values,
                                         const std::vector<std::string>& payloads, const WriteOptions& options) {
  return insert_keyed(ids, keys, values, payloads, options, true);
}

std::vector<SlotId> RemoteMemory::insert_keyed(const std::vector<ExternalId>& id_list, MatrixView keys,
                                               MatrixView values, const std::vector<std::string>& payload_list,
                                               const WriteOptions& options, bool upsert) {
  check_cols(keys, config_.key_dim, "keys");
  check_cols(values, config_.value_dim, "values");
  json external = json::array();
  for (const ExternalId& e : id_list) external.push_back(server::external_id_to_json(e));
  json body = {{"keys_b64", b64(keys)}, {"values_b64", b64(values)}, {"external_ids", std::move(external)}, {"upsert", upsert}};
  if (!payload_list.empty()) body["payloads"] = payload_list;
  put_sync(body, options);
  return call(*client_, "POST", base_ + "/slots", &body).at("ids").get<std::vector<SlotId>>();
}

std::vector<SlotId> RemoteMemory::resolve(const std::vector<ExternalId>& id_list) {
  json external = json::array();
  for (const ExternalId& e : id_list) external.push_back(server::external_id_to_json(e));
  json body = {{"external_ids", std::move(external)}};
  return call(*client_, "POST", base_ + "/resolve", &body).at("ids").get<std::vector<SlotId>>();
}

ScrollPage RemoteMemory::scroll(const ScrollOptions& options) {
  json body = {{"limit", options.limit}, {"cursor", options.cursor}, {"with_keys", options.with_keys},
               {"with_values", options.with_values}, {"encoding", "base64"}};
  if (!options.filter.empty()) body["filter"] = json::parse(options.filter.json());
  json res = call(*client_, "POST", base_ + "/scroll", &body);
  ScrollPage page;
  for (const json& s : res.at("slots")) page.slots.push_back(server::decode_slot(s));
  if (res.at("next_cursor").is_string()) page.next_cursor = res.at("next_cursor").get<std::string>();
  return page;
}

void RemoteMemory::create_payload_index(const std::string& field) {
  json body = {{"field", field}};
  call(*client_, "POST", base_ + "/payload-index", &body);
}

void RemoteMemory::drop_payload_index(const std::string& field) {
  json body = {{"field", field}};
  call(*client_, "POST", base_ + "/payload-index/drop", &body);
}

std::vector<std::string> RemoteMemory::payload_indexes() {
  return call(*client_, "GET", base_ + "/payload-index").at("fields").get<std::vector<std::string>>();
}

ReadResult RemoteMemory::read(MatrixView queries, const SearchOptions& options) {
  check_cols(queries, config_.key_dim, "queries");
  json body = {{"queries_b64", b64(queries)}, {"k", options.k}, {"encoding", "base64"}};
  if (options.temperature != 0) body["temperature"] = options.temperature;
  put_search_params(body, options);
  json res = call(*client_, "POST", base_ + "/read", &body);
  ReadResult r;
  r.k = res.at("k").get<std::size_t>();
  r.value_dim = config_.value_dim;
  r.ids = ids(res);
  r.reads = floats(res, "reads");
  r.weights = floats(res, "weights");
  return r;
}

RetrieveResult RemoteMemory::retrieve(MatrixView queries, const SearchOptions& options) {
  check_cols(queries, config_.key_dim, "queries");
  json body = {{"queries_b64", b64(queries)}, {"k", options.k}, {"payloads", options.with_payloads},
               {"encoding", "base64"}};
  put_search_params(body, options);
  json res = call(*client_, "POST", base_ + "/retrieve", &body);
  RetrieveResult r;
  r.k = res.at("k").get<std::size_t>();
  r.key_dim = config_.key_dim;
  r.value_dim = config_.value_dim;
  r.ids = ids(res);
  r.scores = floats(res, "scores");
  r.keys = floats(res, "keys");
  r.values = floats(res, "values");
  r.payloads = payloads(res);
  return r;
}

WriteResult RemoteMemory::write(MatrixView queries, MatrixView values, const SearchOptions& search,
                                const WriteOptions& options) {
  check_cols(queries, config_.key_dim, "queries");
  check_cols(values, config_.value_dim, "values");
  json body = {{"queries_b64", b64(queries)}, {"values_b64", b64(values)}, {"k", search.k}, {"encoding", "base64"}};
  put_search_params(body, search);
  put_sync(body, options);
  json res = call(*client_, "POST", base_ + "/write", &body);
  WriteResult r;
  r.k = res.at("k").get<std::size_t>();
  r.ids = ids(res);
  r.gates = floats(res, "gates");
  return r;
}

SearchResult RemoteMemory::search(MatrixView queries, const SearchOptions& options) {
  check_cols(queries, config_.key_dim, "queries");
  json body = {{"queries_b64", b64(queries)}, {"k", options.k}, {"payloads", options.with_payloads},
               {"encoding", "base64"}};
  put_search_params(body, options);
  json res = call(*client_, "POST", base_ + "/search", &body);
  SearchResult r;
  r.k = res.at("k").get<std::size_t>();
  r.ids = ids(res);
  r.scores = floats(res, "scores");
  r.payloads = payloads(res);
  return r;
}

std::vector<Slot> RemoteMemory::get(const std::vector<SlotId>& id_list) {
  json body = {{"ids", id_list}, {"encoding", "base64"}};
  json res = call(*client_, "POST", base_ + "/get", &body);
  std::vector<Slot> out;
  for (const json& s : res.at("slots")) out.push_back(server::decode_slot(s));
  return out;
}

void RemoteMemory::update(const std::vector<SlotPatch>& patches, const WriteOptions& options) {
  json list = json::array();
  for (const SlotPatch& p : patches) {
    json j = {{"id", p.id}};
    if (p.key) j["key_b64"] = floats_to_base64(p.key->data(), p.key->size());
    if (p.value) j["value_b64"] = floats_to_base64(p.value->data(), p.value->size());
    if (p.payload) j["payload"] = *p.payload;
    list.push_back(std::move(j));
  }
  json body = {{"patches", std::move(list)}};
  put_sync(body, options);
  call(*client_, "POST", base_ + "/update", &body);
}

void RemoteMemory::erase(const std::vector<SlotId>& id_list, const WriteOptions& options) {
  json body = {{"ids", id_list}};
  put_sync(body, options);
  call(*client_, "POST", base_ + "/erase", &body);
}

std::size_t RemoteMemory::erase_matching(const Filter& filter, const WriteOptions& options) {
  if (filter.empty()) throw Error(ErrorCode::kInvalidArgument, "erasing by filter needs a filter: {} would erase every slot");
  json body = {{"filter", json::parse(filter.json())}};
  put_sync(body, options);
  return call(*client_, "POST", base_ + "/erase", &body).at("erased").get<std::size_t>();
}

MemoryStats RemoteMemory::stats() {
  json s = call(*client_, "GET", base_).at("stats");
  MemoryStats st;
  st.slots = s.at("slots").get<std::uint64_t>();
  st.indexed = s.at("indexed").get<std::uint64_t>();
  st.tombstones = s.at("tombstones").get<std::uint64_t>();
  st.trained = s.at("trained").get<bool>();
  st.next_id = s.at("next_id").get<std::uint64_t>();
  st.op_seq = s.at("op_seq").get<std::uint64_t>();
  st.checkpoint_op_seq = s.at("checkpoint_op_seq").get<std::uint64_t>();
  st.index_bytes = s.value("index_bytes", std::uint64_t{0});
  st.checkpoint_age_s = s.value("checkpoint_age_s", 0.0);
  st.store_bytes = s.value("store_bytes", std::uint64_t{0});
  return st;
}

// --- RemoteDatabase ---------------------------------------------------------------------------

RemoteDatabase::RemoteDatabase(const RemoteOptions& options)
    : client_(std::make_shared<detail::HttpClient>(options)) {}
RemoteDatabase::~RemoteDatabase() = default;

std::shared_ptr<RemoteMemory> RemoteDatabase::create_memory(const std::string& name,
                                                            const MemoryConfig& config) {
  json body = server::encode_config(config);
  call(*client_, "PUT", "/v1/memories/" + name, &body);
  return std::make_shared<RemoteMemory>(client_, name);
}

std::shared_ptr<RemoteMemory> RemoteDatabase::memory(const std::string& name) {
  return std::make_shared<RemoteMemory>(client_, name);
}

bool RemoteDatabase::has_memory(const std::string& name) {
  for (const auto& n : list_memories())
    if (n == name) return true;
  return false;
}

std::vector<std::string> RemoteDatabase::list_memories() {
  return call(*client_, "GET", "/v1/memories").at("memories").get<std::vector<std::string>>();
}

MemoryConfig RemoteDatabase::describe(const std::string& name) {
  return config_of(call(*client_, "GET", "/v1/memories/" + name));
}

void RemoteDatabase::drop_memory(const std::string& name) {
  call(*client_, "DELETE", "/v1/memories/" + name);
}

namespace {
std::string post_snapshot(detail::HttpClient& client, const std::string& path, const std::string& dir) {
  json body = json::object();
  if (!dir.empty()) body["dir"] = dir;
  return call(client, "POST", path, &body).at("dir").get<std::string>();
}
}  // namespace

std::string RemoteDatabase::snapshot(const std::string& dir) { return post_snapshot(*client_, "/v1/snapshot", dir); }

std::string RemoteMemory::snapshot(const std::string& dir) { return post_snapshot(*client_, base_ + "/snapshot", dir); }

bool RemoteDatabase::healthy() {
  try {
    return client_->request("GET", "/v1/health").status == 200;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace engram
