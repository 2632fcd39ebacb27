// handler_test.cc — the API as a plain function: Service::handle(Request) -> Response, no network.
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "codec/base64.h"
#include "service.h"
#include "test_support.h"

namespace engram::server {
namespace {

using nlohmann::json;
using testing::capture;
using testing::make_request;
using testing::MemoryState;
using testing::TempDir;

class HandlerTest : public ::testing::Test {
 protected:
  void SetUp() override { make_service({}); }

  void make_service(ServerOptions options) {
    service_.reset();
    options.data_dir = dir_.path();
    options.max_batch = options.max_batch == ServerOptions{}.max_batch ? 100 : options.max_batch;
    service_ = std::make_unique<Service>(Database::open(dir_.path()), options);
    if (!service_->database().has_memory("m")) {
      MemoryConfig c;
      c.key_dim = 4;
      c.value_dim = 3;
      c.index = "Flat";
      auto mem = service_->database().create_memory("m", c);
      auto keys = testing::random_matrix(10, 4, 1), values = testing::random_matrix(10, 3, 2);
      std::vector<std::string> payloads;
      for (int i = 0; i < 10; ++i) payloads.push_back("p" + std::to_string(i));
      mem->insert(MatrixView(keys, 4), MatrixView(values, 3), payloads);
    }
  }

  Response call(const std::string& method, const std::string& target, const std::string& body = {},
                const std::string& content_type = "application/json") {
    return service_->handle(make_request(method, target, body, content_type));
  }
  json call_json(const std::string& method, const std::string& target, const json& body, int expect = 200) {
    Response r = call(method, target, body.dump());
    EXPECT_EQ(r.status, expect) << method << " " << target << ": " << r.body;
    return r.body.empty() ? json() : json::parse(r.body);
  }
  Memory& mem() { return *service_->database().memory("m"); }

  TempDir dir_;
  std::unique_ptr<Service> service_;
};

TEST_F(HandlerTest, Health) {
  Response r = call("GET", "/v1/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["status"], "ok");
}

TEST_F(HandlerTest, MemoryLifecycle) {
  json created = call_json("PUT", "/v1/memories/facts",
                           {{"key_dim", 8}, {"value_dim", 2}, {"metric", "l2"}, {"index", "HNSW32"},
                            {"default_k", 5}, {"temperature", 0.5}, {"gate_bias", -1}, {"sync", false}},
                           201);
  EXPECT_EQ(created["config"]["key_dim"], 8);
  EXPECT_EQ(created["config"]["metric"], "l2");
  json list = call_json("GET", "/v1/memories", json::object());
  EXPECT_EQ(list["memories"], json({"facts", "m"}));
  json info = call_json("GET", "/v1/memories/facts", json::object());
  EXPECT_EQ(info["config"]["default_k"], 5);
  EXPECT_EQ(info["stats"]["slots"], 0);
  EXPECT_EQ(call("PUT", "/v1/memories/facts", R"({"key_dim":8,"value_dim":2})").status, 409);
  EXPECT_EQ(call("DELETE", "/v1/memories/facts").status, 204);
  EXPECT_EQ(call("GET", "/v1/memories/facts").status, 404);
  EXPECT_EQ(call("DELETE", "/v1/memories/facts").status, 404);
}

TEST_F(HandlerTest, InsertThenReadJsonAndBase64Agree) {
  auto keys = testing::random_matrix(3, 4, 7);
  auto values = testing::random_matrix(3, 3, 8);
  json ins = call_json("POST", "/v1/memories/m/slots",
                       {{"keys_b64", floats_to_base64(keys.data(), keys.size())},
                        {"values", {{values[0], values[1], values[2]}, {values[3], values[4], values[5]},
                                    {values[6], values[7], values[8]}}},
                        {"payloads", {"x", "y", "z"}}});
  ASSERT_EQ(ins["ids"].size(), 3u);
  EXPECT_EQ(mem().count(), 13u);

  json q_json = {{"queries", {{keys[0], keys[1], keys[2], keys[3]}}}, {"k", 4}};
  json q_b64 = {{"queries_b64", floats_to_base64(keys.data(), 4)}, {"k", 4}, {"encoding", "base64"}};
  json a = call_json("POST", "/v1/memories/m/read", q_json);
  json b = call_json("POST", "/v1/memories/m/read", q_b64);
  EXPECT_EQ(a["ids"], b["ids"]);
  std::vector<float> reads, weights;
  ASSERT_TRUE(base64_to_floats(b["reads_b64"].get<std::string>(), reads));
  ASSERT_TRUE(base64_to_floats(b["weights_b64"].get<std::string>(), weights));
  ASSERT_EQ(reads.size(), 3u);
  ASSERT_EQ(weights.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_FLOAT_EQ(a["reads"][0][i].get<float>(), reads[i]);
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(a["weights"][0][i].get<float>(), weights[i]);

  // The embedded memory gives the same answer.
  ReadResult direct = mem().read(MatrixView(keys.data(), 1, 4), {.k = 4});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(a["ids"][0][i].get<SlotId>(), direct.ids[i]);
}

TEST_F(HandlerTest, RetrieveSearchWriteAndSlots) {
  auto q = testing::random_matrix(2, 4, 3);
  json body = {{"queries_b64", floats_to_base64(q.data(), q.size())}, {"k", 3}, {"payloads", true}};
  json r = call_json("POST", "/v1/memories/m/retrieve", body);
  EXPECT_EQ(r["k"], 3);
  EXPECT_EQ(r["ids"].size(), 2u);
  EXPECT_EQ(r["keys"][0].size(), 3u);
  EXPECT_EQ(r["keys"][0][0].size(), 4u);
  EXPECT_EQ(r["values"][1][2].size(), 3u);
  EXPECT_EQ(r["payloads"][0][0].get<std::string>()[0], 'p');
  json s = call_json("POST", "/v1/memories/m/search", body);
  EXPECT_EQ(s["ids"], r["ids"]);
  EXPECT_EQ(s["scores"], r["scores"]);

  json w = call_json("POST", "/v1/memories/m/write",
                     {{"queries", {{1, 0, 0, 0}}}, {"values", {{5, 5, 5}}}, {"k", 2}, {"encoding", "base64"}});
  EXPECT_EQ(w["ids"][0].size(), 2u);
  std::vector<float> gates;
  ASSERT_TRUE(base64_to_floats(w["gates_b64"].get<std::string>(), gates));
  EXPECT_EQ(gates.size(), 2u);

  json slot = call_json("GET", "/v1/memories/m/slots/3", json::object());
  EXPECT_EQ(slot["payload"], "p3");
  EXPECT_EQ(slot["key"].size(), 4u);
  EXPECT_EQ(call("GET", "/v1/memories/m/slots/3?encoding=base64").status, 200);
  EXPECT_EQ(call("PUT", "/v1/memories/m/slots/3", R"({"payload":"changed","value":[1,2,3]})").status, 204);
  EXPECT_EQ(mem().get_one(3).payload, "changed");
  EXPECT_EQ(mem().get_one(3).value, (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(call("DELETE", "/v1/memories/m/slots/3").status, 204);
  EXPECT_EQ(call("GET", "/v1/memories/m/slots/3").status, 404);

  json got = call_json("POST", "/v1/memories/m/get", {{"ids", {1, 2}}});
  EXPECT_EQ(got["slots"].size(), 2u);
  call_json("POST", "/v1/memories/m/update", {{"patches", {{{"id", 1}, {"payload", "u"}}}}});
  EXPECT_EQ(mem().get_one(1).payload, "u");
  call_json("POST", "/v1/memories/m/erase", {{"ids", {1, 2}}});
  EXPECT_EQ(mem().count(), 7u);
}

// Every malformed or invalid request is refused with its status, and the memory is unchanged.
TEST_F(HandlerTest, BadInputMatrixChangesNothing) {
  struct Case {
    const char* what;
    std::string method, target, body, content_type;
    int status;
    const char* code;
  };
  const std::string big_batch = [] {
    json rows = json::array();
    for (int i = 0; i < 101; ++i) rows.push_back({1, 0, 0, 0});
    json values = json::array();
    for (int i = 0; i < 101; ++i) values.push_back({1, 0, 0});
    return json{{"keys", rows}, {"values", values}}.dump();
  }();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float nan_row[4] = {nan, 0, 0, 0};
  const std::string nan_b64 = floats_to_base64(nan_row, 4);
  const std::vector<Case> cases = {
      {"malformed json", "POST", "/v1/memories/m/slots", "{\"keys\": [[1,2", "application/json", 400, "bad_request"},
      {"not an object", "POST", "/v1/memories/m/slots", "[1,2,3]", "application/json", 400, "bad_request"},
      {"string in vector", "POST", "/v1/memories/m/slots", R"({"keys":[["a",0,0,0]],"values":[[1,2,3]]})", "application/json", 400, "bad_request"},
      {"missing values", "POST", "/v1/memories/m/slots", R"({"keys":[[1,0,0,0]]})", "application/json", 400, "bad_request"},
      {"unknown field", "POST", "/v1/memories/m/slots", R"({"keys":[[1,0,0,0]],"values":[[1,2,3]],"colour":1})", "application/json", 400, "bad_request"},
      {"bad base64", "POST", "/v1/memories/m/slots", R"({"keys_b64":"!!!!","values":[[1,2,3]]})", "application/json", 400, "bad_request"},
      {"wrong key dim", "POST", "/v1/memories/m/slots", R"({"keys":[[1,0,0]],"values":[[1,2,3]]})", "application/json", 422, "invalid_argument"},
      {"wrong value dim", "POST", "/v1/memories/m/slots", R"({"keys":[[1,0,0,0]],"values":[[1,2]]})", "application/json", 422, "invalid_argument"},
      {"ragged rows", "POST", "/v1/memories/m/slots", R"({"keys":[[1,0,0,0],[1,0]],"values":[[1,2,3],[1,2,3]]})", "application/json", 422, "invalid_argument"},
      {"row count mismatch", "POST", "/v1/memories/m/slots", R"({"keys":[[1,0,0,0],[0,1,0,0]],"values":[[1,2,3]]})", "application/json", 422, "invalid_argument"},
      {"base64 not a multiple of dim", "POST", "/v1/memories/m/slots", "{\"keys_b64\":\"" + floats_to_base64(nan_row, 3) + "\",\"values\":[[1,2,3]]}", "application/json", 422, "invalid_argument"},
      {"NaN key", "POST", "/v1/memories/m/slots", "{\"keys_b64\":\"" + nan_b64 + "\",\"values\":[[1,2,3]]}", "application/json", 422, "invalid_argument"},
      {"overflow to Inf", "POST", "/v1/memories/m/slots", R"({"keys":[[1e39,0,0,0]],"values":[[1,2,3]]})", "application/json", 422, "invalid_argument"},
      {"payload count", "POST", "/v1/memories/m/slots", R"({"keys":[[1,0,0,0]],"values":[[1,2,3]],"payloads":["a","b"]})", "application/json", 422, "invalid_argument"},
      {"batch too large", "POST", "/v1/memories/m/slots", big_batch, "application/json", 413, "batch_too_large"},
      {"wrong content type", "POST", "/v1/memories/m/slots", R"({"keys":[[1,0,0,0]],"values":[[1,2,3]]})", "text/plain", 415, "unsupported_media_type"},
      {"unknown memory", "POST", "/v1/memories/nope/slots", R"({"keys":[[1,0,0,0]],"values":[[1,2,3]]})", "application/json", 404, "not_found"},
      {"unknown route", "GET", "/v1/nothing", "", "", 404, "not_found"},
      {"wrong method", "DELETE", "/v1/memories/m/read", "", "", 405, "method_not_allowed"},
      {"k too large", "POST", "/v1/memories/m/write", R"({"queries":[[1,0,0,0]],"values":[[1,2,3]],"k":5000})", "application/json", 422, "invalid_argument"},
      {"negative k", "POST", "/v1/memories/m/write", R"({"queries":[[1,0,0,0]],"values":[[1,2,3]],"k":-1})", "application/json", 422, "invalid_argument"},
      {"k not integer", "POST", "/v1/memories/m/write", R"({"queries":[[1,0,0,0]],"values":[[1,2,3]],"k":"8"})", "application/json", 400, "bad_request"},
      {"write NaN", "POST", "/v1/memories/m/write", "{\"queries_b64\":\"" + nan_b64 + "\",\"values\":[[1,2,3]],\"k\":1}", "application/json", 422, "invalid_argument"},
      {"write wrong dim", "POST", "/v1/memories/m/write", R"({"queries":[[1,0,0,0]],"values":[[1,2,3,4]],"k":1})", "application/json", 422, "invalid_argument"},
      {"read bad encoding", "POST", "/v1/memories/m/read", R"({"queries":[[1,0,0,0]],"encoding":"xml"})", "application/json", 400, "bad_request"},
      {"update unknown id", "POST", "/v1/memories/m/update", R"({"patches":[{"id":1,"payload":"a"},{"id":999,"payload":"b"}]})", "application/json", 404, "not_found"},
      {"update wrong dim", "PUT", "/v1/memories/m/slots/1", R"({"key":[1,2]})", "application/json", 422, "invalid_argument"},
      {"erase unknown id", "POST", "/v1/memories/m/erase", R"({"ids":[1,999]})", "application/json", 404, "not_found"},
      {"erase negative id", "POST", "/v1/memories/m/erase", R"({"ids":[-1]})", "application/json", 400, "bad_request"},
      {"delete unknown slot", "DELETE", "/v1/memories/m/slots/999", "", "", 404, "not_found"},
      {"slot id not a number", "GET", "/v1/memories/m/slots/abc", "", "", 400, "bad_request"},
      {"ingest bad line", "POST", "/v1/memories/m/ingest", "{\"key\":[1,0,0,0],\"value\":[1,2,3]}\n{\"key\":[1,0,0],\"value\":[1,2,3]}\n", "application/x-ndjson", 422, "invalid_argument"},
      {"ingest not json", "POST", "/v1/memories/m/ingest", "{\"key\":[1,0,0,0],\"value\":[1,2,3]}\nnope\n", "application/x-ndjson", 400, "bad_request"},
      {"create bad config", "PUT", "/v1/memories/x", R"({"key_dim":0,"value_dim":3})", "application/json", 422, "invalid_argument"},
      {"create wrong type", "PUT", "/v1/memories/x", R"({"key_dim":"4","value_dim":3})", "application/json", 400, "bad_request"},
      {"create bad metric", "PUT", "/v1/memories/x", R"({"key_dim":4,"value_dim":3,"metric":"cosine"})", "application/json", 422, "invalid_argument"},
      {"create bad name", "PUT", "/v1/memories/.hidden", R"({"key_dim":4,"value_dim":3})", "application/json", 422, "invalid_argument"},
      {"create existing", "PUT", "/v1/memories/m", R"({"key_dim":4,"value_dim":3})", "application/json", 409, "already_exists"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    MemoryState before = capture(mem());
    Response r = call(c.method, c.target, c.body, c.content_type);
    EXPECT_EQ(r.status, c.status) << r.body;
    json err = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(err.is_object()) << r.body;
    EXPECT_EQ(err["error"]["code"], c.code) << r.body;
    EXPECT_FALSE(err["error"]["message"].get<std::string>().empty());
    EXPECT_TRUE(capture(mem()) == before) << "the request changed the memory";
    EXPECT_EQ(service_->database().list_memories(), std::vector<std::string>{"m"});
  }
}

// Structured payloads go in as JSON objects and come back as their text; a filter limits a
// search to the slots whose payload it accepts; a bad filter is 422 naming the condition, and a
// bad erase by filter changes nothing.
TEST_F(HandlerTest, StructuredPayloadsAndFilters) {
  json ins = call_json("POST", "/v1/memories/m/slots",
                       {{"keys", {{1, 0, 0, 0}, {0, 1, 0, 0}}},
                        {"values", {{1, 1, 1}, {2, 2, 2}}},
                        {"payloads", {{{"source", "wiki"}, {"year", 2021}, {"tags", {"a", "b"}}}, "plain"}}});
  const SlotId wiki = ins["ids"][0].get<SlotId>();
  EXPECT_EQ(mem().get_one(wiki).payload, R"({"source":"wiki","tags":["a","b"],"year":2021})");
  EXPECT_EQ(mem().get_one(ins["ids"][1].get<SlotId>()).payload, "plain");

  const json filter = {{"must", {{{"key", "year"}, {"range", {{"gte", 2020}}}}, {{"key", "tags"}, {"match", {{"any", {"b"}}}}}}}};
  json r = call_json("POST", "/v1/memories/m/search",
                     {{"queries", {{0, 1, 0, 0}}}, {"k", 3}, {"payloads", true}, {"filter", filter}});
  EXPECT_EQ(r["ids"], json({{wiki, -1, -1}}));
  EXPECT_EQ(r["payloads"][0][0], R"({"source":"wiki","tags":["a","b"],"year":2021})");

  // PUT with an object payload; then erase by filter takes exactly that slot.
  call_json("PUT", "/v1/memories/m/slots/0", {{"payload", {{"source", "news"}}}}, 204);
  EXPECT_EQ(mem().get_one(0).payload, R"({"source":"news"})");

  Response bad = call("POST", "/v1/memories/m/search",
                      json({{"queries", {{0, 1, 0, 0}}}, {"filter", {{"must", {{{"key", "year"}, {"range", {{"gt", "2020"}}}}}}}}}).dump());
  EXPECT_EQ(bad.status, 422);
  EXPECT_NE(bad.body.find("filter.must[0].range.gt: must be a number, got a string"), std::string::npos) << bad.body;
  Response bad_op = call("POST", "/v1/memories/m/erase", R"({"filter": {"must": [{"key": "source", "like": "w%"}]}})");
  EXPECT_EQ(bad_op.status, 422);
  EXPECT_NE(bad_op.body.find(R"(filter.must[0]: unknown operator \"like\")"), std::string::npos) << bad_op.body;
  EXPECT_EQ(mem().count(), 12u);

  json erased = call_json("POST", "/v1/memories/m/erase", {{"filter", {{"must", {{{"key", "source"}, {"match", {{"value", "news"}}}}}}}}});
  EXPECT_EQ(erased["erased"], 1);
  EXPECT_EQ(mem().count(), 11u);
  EXPECT_THROW(mem().get_one(0), Error);
}

TEST_F(HandlerTest, BearerToken) {
  ServerOptions o;
  o.token = "s3cret";
  make_service(o);
  auto with_auth = [&](const std::string& target, const std::string& auth) {
    Request r = make_request("GET", target);
    r.authorization = auth;
    return service_->handle(r);
  };
  EXPECT_EQ(with_auth("/v1/health", "").status, 200);  // open for load balancers
  EXPECT_EQ(with_auth("/v1/memories", "").status, 401);
  EXPECT_EQ(with_auth("/v1/memories", "Bearer wrong").status, 401);
  EXPECT_EQ(with_auth("/v1/memories", "Bearer s3cret").status, 200);
  EXPECT_EQ(with_auth("/v1/memories", "bearer s3cret").status, 200);  // the scheme's case is free
  EXPECT_EQ(with_auth("/v1/memories", "BEARER s3cret").status, 200);
  EXPECT_EQ(with_auth("/v1/memories", "Bearer S3CRET").status, 401);  // the token's is not
  EXPECT_EQ(with_auth("/v1/memories", "Basic s3cret").status, 401);
  EXPECT_EQ(with_auth("/v1/metrics", "").status, 401);
  Response r = with_auth("/v1/memories", "");
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "unauthenticated");
}

TEST_F(HandlerTest, ShuttingDownAnswers503) {
  service_->set_stopping();
  Response r = call("GET", "/v1/memories");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "unavailable");
}

TEST_F(HandlerTest, MetricsArePrometheusText) {
  call("GET", "/v1/memories/m");
  call("GET", "/v1/memories/nope");
  Response r = call("GET", "/v1/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.content_type.find("text/plain"), std::string::npos);
  EXPECT_NE(r.body.find(R"(engram_http_requests_total{route="/v1/memories/{name}",method="GET",status="200"} 1)"),
            std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"(status="404"} 1)"), std::string::npos);
  EXPECT_NE(r.body.find("engram_http_request_duration_seconds_bucket{"), std::string::npos);
  EXPECT_NE(r.body.find("engram_memory_slots{memory=\"m\"} 10"), std::string::npos);
  EXPECT_NE(r.body.find("engram_disk_bytes "), std::string::npos);
}

// Prometheus's default path, the process_* families its client libraries export, the
// per-memory gauges and the refusals by reason.
TEST_F(HandlerTest, MetricsAtPrometheusPathWithProcessMemoryAndRefusals) {
  ServerOptions o;
  o.token = "t";
  make_service(o);
  auto get = [&](const std::string& target, const std::string& auth) {
    Request r = make_request("GET", target);
    r.authorization = auth;
    return service_->handle(r);
  };
  EXPECT_EQ(get("/v1/memories", "").status, 401);
  EXPECT_EQ(get("/v1/memories", "Bearer nope").status, 401);
  EXPECT_EQ(get("/v1/nothing-here", "Bearer t").status, 404);
  Response r = get("/metrics", "Bearer t");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(get("/v1/metrics", "Bearer t").status, 200);  // the old path stays
  auto value = [&](const std::string& series) {
    const auto at = r.body.find("\n" + series + " ");
    EXPECT_NE(at, std::string::npos) << series << " missing in\n" << r.body;
    return at == std::string::npos ? -1.0 : std::stod(r.body.substr(at + series.size() + 2));
  };
  EXPECT_GT(value("process_cpu_seconds_total"), 0);
  EXPECT_GT(value("process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(value("process_open_fds"), 2);
  EXPECT_GE(value("process_max_fds"), value("process_open_fds"));
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_GT(value("process_start_time_seconds"), now - 24 * 3600);
  EXPECT_LE(value("process_start_time_seconds"), now + 1);
  EXPECT_EQ(value("engram_memory_tombstones{memory=\"m\"}"), 0);
  EXPECT_GE(value("engram_memory_index_bytes{memory=\"m\"}"), 0);
  EXPECT_GE(value("engram_memory_store_bytes{memory=\"m\"}"), 0);  // present (m is empty here)
  const double age = value("engram_memory_checkpoint_age_seconds{memory=\"m\"}");
  EXPECT_GE(age, 0);
  EXPECT_LT(age, 3600);
  EXPECT_EQ(value("engram_http_refused_total{reason=\"unauthenticated\"}"), 2);
  EXPECT_EQ(value("engram_http_refused_total{reason=\"not_found\"}"), 1);
}

TEST_F(HandlerTest, SnapshotIsOpenable) {
  // A name: inside the snapshot root (default <data>/snapshots); the answer gives the absolute path.
  Response r = call("POST", "/v1/memories/m/snapshot", json{{"dir", "snap"}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string root = std::filesystem::weakly_canonical(dir_.sub("snapshots")).string();
  EXPECT_EQ(json::parse(r.body)["dir"], root + "/snap");
  EXPECT_EQ(json::parse(r.body)["name"], "snap");
  auto copy = Database::open(root + "/snap");
  EXPECT_EQ(copy->memory("m")->count(), 10u);
  // Default place: a new name in the root, and the database still reopens with it there.
  Response d = call("POST", "/v1/memories/m/snapshot");
  ASSERT_EQ(d.status, 201) << d.body;
  std::string dir = json::parse(d.body)["dir"];
  EXPECT_EQ(dir.rfind(root + "/", 0), 0u) << dir;
  EXPECT_EQ(Database::open(dir)->memory("m")->count(), 10u);
  make_service({});  // reopen the data folder
  EXPECT_EQ(mem().count(), 10u);
}

// The HTTP `dir` cannot leave the root: an absolute path elsewhere, "..", a link out of it, the
// root itself are 403 and write nothing; an absolute path inside it is fine; GET /v1/snapshots
// lists the whole snapshots.
TEST_F(HandlerTest, SnapshotsStayInsideTheRootAndAreListed) {
  TempDir other;
  ServerOptions o;
  o.snapshot_root = other.sub("root");
  make_service(o);
  const std::string root = std::filesystem::weakly_canonical(other.sub("root")).string();
  std::filesystem::create_directories(root);
  std::filesystem::create_directory_symlink(other.path(), root + "/out");
  for (const std::string& bad : std::vector<std::string>{dir_.sub("snap"), "../escaped", "a/../../escaped", "out/escaped", root, "."}) {
    Response r = call("POST", "/v1/snapshot", json{{"dir", bad}}.dump());
    EXPECT_EQ(r.status, 403) << bad << ": " << r.body;
    EXPECT_EQ(json::parse(r.body)["error"]["code"], "forbidden") << r.body;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("snap")));
  EXPECT_FALSE(std::filesystem::exists(other.sub("escaped")));
  Response a = call("POST", "/v1/snapshot", json{{"dir", root + "/b"}}.dump());
  ASSERT_EQ(a.status, 201) << a.body;
  Response n = call("POST", "/v1/memories/m/snapshot", json{{"dir", "a"}}.dump());
  ASSERT_EQ(n.status, 201) << n.body;
  EXPECT_EQ(json::parse(n.body)["dir"], root + "/a");
  std::filesystem::create_directories(root + "/not-a-snapshot");
  const json list = call_json("GET", "/v1/snapshots", json::object());
  EXPECT_EQ(list["root"], root);
  ASSERT_EQ(list["snapshots"].size(), 2u) << list;
  EXPECT_EQ(list["snapshots"][0]["name"], "a");
  EXPECT_EQ(list["snapshots"][0]["dir"], root + "/a");
  EXPECT_GT(list["snapshots"][0]["bytes"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(list["snapshots"][1]["name"], "b");
}

}  // namespace
}  // namespace engram::server
