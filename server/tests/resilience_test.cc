// The server stays up and truthful when a memory cannot be built or opened, and reports what a
// crash would replay.
#include <gtest/gtest.h>

#include <engram/engram.h>
#include <nlohmann/json.hpp>

#include "e2e_support.h"
#include "http_client.h"
#include "storage/slot_store.h"

namespace engram::e2e {
namespace {

// The index strings that crashed the server (SIGSEGV, SIGFPE), took 17 GB, or never worked: each
// is refused at creation, and an insert into the name afterwards finds no memory — nothing was
// recorded that a restart could crash on.
TEST(ResilienceTest, IndexStringsThatCrashedTheServerAreRefusedWithNothingRecorded) {
  TestServer ts;
  detail::HttpClient http(ts.remote());
  const std::pair<const char*, int> cases[] = {{"HNSW0", 8},      {"HNSW0_Flat", 8}, {"NSG32,Flat", 8},
                                               {"HNSW1", 8},      {"IVF0,Flat", 8},  {"PCA5,Flat", 4}};
  for (const auto& [index, dim] : cases) {
    const std::string config = "{\"key_dim\":" + std::to_string(dim) + ",\"value_dim\":1,\"index\":\"" + index + "\"}";
    auto res = http.request("PUT", "/v1/memories/m", config);
    EXPECT_EQ(res.status, 422) << index << ": " << res.body;
    EXPECT_NE(res.body.find("invalid_argument"), std::string::npos) << res.body;
    std::string zeros = "[";
    for (int i = 0; i < dim; ++i) zeros += i ? ",0.5" : "0.5";
    zeros += "]";
    res = http.request("POST", "/v1/memories/m/slots",
                       "{\"keys\":[" + zeros + "," + zeros + "," + zeros + "],\"values\":[[1],[2],[3]]}");
    EXPECT_EQ(res.status, 404) << index << ": " << res.body;
  }
  EXPECT_EQ(http.request("GET", "/v1/health").status, 200);
  EXPECT_EQ(http.request("GET", "/v1/memories").body, "{\"memories\":[],\"unavailable\":[]}");
}

// A memory an older version created with "HNSW0" (written straight into the catalog here): the
// server starts, /v1/metrics answers and reports it, requests about it are a clear 409, the
// other memory works, and DELETE removes it.
TEST(ResilienceTest, AMemoryThatCannotBeOpenedDoesNotTakeDownTheOthers) {
  TempDir dir;
  {
    auto db = Database::open(dir.path());
    MemoryConfig ok;
    ok.key_dim = 2;
    ok.value_dim = 1;
    auto good = db->create_memory("good", ok);
    const float k[] = {1, 0}, v[] = {1};
    good->insert(MatrixView(k, 1, 2), MatrixView(v, 1, 1));
  }
  {
    auto store = storage::SlotStore::open(dir.path() + "/store", {});
    MemoryConfig bad;
    bad.key_dim = 2;
    bad.value_dim = 1;
    bad.index = "HNSW0";
    store->create_memory("old", config_to_json(bad));
  }
  TestServer ts({}, dir.path());
  detail::HttpClient http(ts.remote());
  auto metrics = http.request("GET", "/v1/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("engram_memory_unavailable{memory=\"old\"} 1"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("engram_memory_slots{memory=\"good\"} 1"), std::string::npos) << metrics.body;
  auto old = http.request("GET", "/v1/memories/old");
  EXPECT_EQ(old.status, 409) << old.body;
  EXPECT_NE(old.body.find("drop"), std::string::npos) << old.body;
  EXPECT_EQ(http.request("POST", "/v1/memories/good/search", "{\"queries\":[[1,0]],\"k\":1}").status, 200);
  // The list names it with the reason, and still lists it among the memories (it can be dropped).
  const auto list = nlohmann::json::parse(http.request("GET", "/v1/memories").body);
  EXPECT_EQ(list["memories"], nlohmann::json({"good", "old"}));
  ASSERT_EQ(list["unavailable"].size(), 1u) << list;
  EXPECT_EQ(list["unavailable"][0]["name"], "old");
  EXPECT_NE(list["unavailable"][0]["error"].get<std::string>().find("HNSW0"), std::string::npos) << list;
  EXPECT_EQ(http.request("DELETE", "/v1/memories/old").status, 204);
  EXPECT_EQ(http.request("GET", "/v1/memories").body, "{\"memories\":[\"good\"],\"unavailable\":[]}");
}

// Health says the database takes writes; metrics show what a crash now would replay.
TEST(ResilienceTest, HealthAndMetricsReportWritabilityAndReplayLength) {
  server::ServerOptions o;
  o.database.checkpoint_every_ops = 0;  // no background checkpoint: the replay length grows
  o.database.checkpoint_every_slots = 0;
  o.database.checkpoint_interval_s = 0;
  TestServer ts(o);
  detail::HttpClient http(ts.remote());
  auto health = http.request("GET", "/v1/health");
  EXPECT_NE(health.body.find("\"writable\":true"), std::string::npos) << health.body;
  ASSERT_EQ(http.request("PUT", "/v1/memories/m", "{\"key_dim\":2,\"value_dim\":1}").status, 201);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(http.request("POST", "/v1/memories/m/slots", "{\"keys\":[[1,0]],\"values\":[[1]]}").status, 200);
  auto metrics = http.request("GET", "/v1/metrics").body;
  EXPECT_NE(metrics.find("engram_memory_replay_ops{memory=\"m\"} 3"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("engram_storage_writable 1"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace engram::e2e

namespace engram::e2e {
namespace {

// A small request must not make a huge answer: the answer's size is estimated from rows × k ×
// widths before the memory does the work, and refused over --max-answer-bytes.
TEST(ResilienceTest, AnAnswerOverTheLimitIsRefusedBeforeItIsBuilt) {
  server::ServerOptions o;
  o.max_answer_bytes = 1u << 20;
  TestServer ts(o);
  detail::HttpClient http(ts.remote());
  ASSERT_EQ(http.request("PUT", "/v1/memories/m", "{\"key_dim\":2,\"value_dim\":512}").status, 201);
  std::string value = "[";
  for (int i = 0; i < 512; ++i) value += i ? ",0.5" : "0.5";
  value += "]";
  ASSERT_EQ(http.request("POST", "/v1/memories/m/slots", "{\"keys\":[[1,0],[0,1]],\"values\":[" + value + "," + value + "]}").status, 200);
  // 64 queries × k 64 × (2 + 512 + 2) numbers: 2.1M, ~80 MiB as JSON.
  std::string queries = "[";
  for (int i = 0; i < 64; ++i) queries += i ? ",[1,0]" : "[1,0]";
  queries += "]";
  auto res = http.request("POST", "/v1/memories/m/retrieve", "{\"queries\":" + queries + ",\"k\":64}");
  EXPECT_EQ(res.status, 413) << res.body;
  EXPECT_NE(res.body.find("answer_too_large"), std::string::npos) << res.body;
  res = http.request("POST", "/v1/memories/m/read", "{\"queries\":" + queries + ",\"k\":64}");
  EXPECT_EQ(res.status, 413) << res.body;  // 64 × (512 + 128) numbers as JSON
  // What fits is answered.
  res = http.request("POST", "/v1/memories/m/retrieve", "{\"queries\":[[1,0]],\"k\":2,\"encoding\":\"base64\"}");
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(http.request("POST", "/v1/memories/m/search", "{\"queries\":" + queries + ",\"k\":64}").status, 200);
}

}  // namespace
}  // namespace engram::e2e
