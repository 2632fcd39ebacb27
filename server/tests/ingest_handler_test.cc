// ingest_handler_test.cc — POST/DELETE …/ingest as plain function calls (no network): both body
// formats, base64 vectors, atomic failure after committed chunks, resume and abort of an
// interrupted load, one ingest per memory. The streaming over a socket is in ingest_e2e_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <sstream>

#include <nlohmann/json.hpp>

#include "codec/base64.h"
#include "ingest/pipeline.h"
#include "ingest/stream_source.h"
#include "service.h"
#include "test_support.h"

namespace engram::server {
namespace {

using nlohmann::json;
using testing::make_request;
using testing::TempDir;

constexpr std::size_t kKeyDim = 4, kValueDim = 3, kChunkRows = 50;

struct Rows {
  std::vector<float> keys, values;
  std::vector<std::string> payloads;
  std::size_t n = 0;
};

Rows make_rows(std::size_t n, std::uint32_t seed) {
  Rows r;
  r.n = n;
  r.keys = testing::random_matrix(n, kKeyDim, seed);
  r.values = testing::random_matrix(n, kValueDim, seed + 1);
  for (std::size_t i = 0; i < n; ++i) r.payloads.push_back(i % 3 == 0 ? "" : "p" + std::to_string(i));
  return r;
}

json vec(const float* p, std::size_t d) { return json(std::vector<float>(p, p + d)); }

// Odd rows carry base64 vectors, even rows JSON arrays; rows without a payload omit the field.
std::string as_jsonl(const Rows& r) {
  std::string out;
  for (std::size_t i = 0; i < r.n; ++i) {
    const float* k = &r.keys[i * kKeyDim];
    const float* v = &r.values[i * kValueDim];
    json rec = i % 2 ? json{{"key_b64", floats_to_base64(k, kKeyDim)}, {"value_b64", floats_to_base64(v, kValueDim)}}
                     : json{{"key", vec(k, kKeyDim)}, {"value", vec(v, kValueDim)}};
    if (!r.payloads[i].empty()) rec["payload"] = r.payloads[i];
    out += rec.dump() + "\n";
  }
  return out;
}

std::string as_binary(const Rows& r) {
  std::string out;
  for (std::size_t i = 0; i < r.n; ++i) {
    out.append(reinterpret_cast<const char*>(&r.keys[i * kKeyDim]), kKeyDim * sizeof(float));
    out.append(reinterpret_cast<const char*>(&r.values[i * kValueDim]), kValueDim * sizeof(float));
    const auto len = static_cast<std::uint32_t>(r.payloads[i].size());
    out.append(reinterpret_cast<const char*>(&len), sizeof len);
    out += r.payloads[i];
  }
  return out;
}

// Slot contents only: a failed load may leave next_id/op_seq advanced (its undo is an operation).
struct Contents {
  std::vector<Slot> slots;
  bool operator==(const Contents& o) const {
    if (slots.size() != o.slots.size()) return false;
    for (std::size_t i = 0; i < slots.size(); ++i)
      if (slots[i].id != o.slots[i].id || slots[i].key != o.slots[i].key ||
          slots[i].value != o.slots[i].value || slots[i].payload != o.slots[i].payload)
        return false;
    return true;
  }
};

class IngestHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.data_dir = dir_.path();
    o.ingest_chunk_rows = kChunkRows;
    service_ = std::make_unique<Service>(Database::open(dir_.path()), o);
    MemoryConfig c;
    c.key_dim = kKeyDim;
    c.value_dim = kValueDim;
    c.index = "Flat";
    c.metric = Metric::kL2;  // a key's nearest slot is its own
    auto mem = service_->database().create_memory("m", c);
    Rows seed = make_rows(10, 99);
    mem->insert(MatrixView(seed.keys, kKeyDim), MatrixView(seed.values, kValueDim));
  }

  Response post(const std::string& body, const std::string& type, const std::string& query = "") {
    return service_->handle(make_request("POST", "/v1/memories/m/ingest" + query, body, type));
  }
  Memory& mem() { return *service_->database().memory("m"); }
  Contents contents() { return Contents{mem().get(mem().list_ids())}; }

  // The slots after the first 10 hold `r`'s rows, in order, exactly once.
  void expect_loaded(const Rows& r) {
    auto ids = mem().list_ids();
    ASSERT_EQ(ids.size(), 10 + r.n);
    std::vector<Slot> slots = mem().get(std::vector<SlotId>(ids.begin() + 10, ids.end()));
    for (std::size_t i = 0; i < r.n; ++i) {
      ASSERT_EQ(slots[i].key, std::vector<float>(&r.keys[i * kKeyDim], &r.keys[(i + 1) * kKeyDim])) << "row " << i;
      ASSERT_EQ(slots[i].value, std::vector<float>(&r.values[i * kValueDim], &r.values[(i + 1) * kValueDim])) << "row " << i;
      ASSERT_EQ(slots[i].payload, r.payloads[i]) << "row " << i;
    }
  }

  // Leaves an interrupted load of `body` in "m": its first chunk committed, then stopped.
  void interrupt_load(const std::string& body) {
    std::istringstream in(body);
    auto source = ingest::open_stream(in, ingest::StreamFormat::kJsonLines, kKeyDim, kValueDim,
                                      body.size(), "request body");
    std::atomic<bool> stop{false};
    ingest::IngestOptions o;
    o.chunk_rows = kChunkRows;
    o.progress = ingest::Progress::Mode::kQuiet;
    o.stop = &stop;
    o.on_commit = [&](std::uint64_t) { stop = true; };
    auto report = ingest::ingest(service_->database(), service_->memory("m"), *source, o);
    ASSERT_TRUE(report.interrupted);
    ASSERT_EQ(report.records_done, kChunkRows);
  }

  TempDir dir_;
  std::unique_ptr<Service> service_;
};

TEST_F(IngestHandlerTest, JsonLinesWithArraysAndBase64LoadInOrder) {
  Rows r = make_rows(237, 1);  // several chunks and a partial one
  Response res = post(as_jsonl(r), "application/x-ndjson");
  ASSERT_EQ(res.status, 200) << res.body;
  json j = json::parse(res.body);
  EXPECT_EQ(j["inserted"], 237);
  EXPECT_EQ(j["records"], 237);
  EXPECT_EQ(j["resumed_from"], 0);
  expect_loaded(r);
  // Searchable: the first loaded key finds its own slot.
  auto hits = mem().search(MatrixView(r.keys.data(), 1, kKeyDim), {.k = 1});
  EXPECT_EQ(hits.ids[0], mem().list_ids()[10]);
}

TEST_F(IngestHandlerTest, BinaryRecordsLoadInOrder) {
  Rows r = make_rows(123, 2);
  Response res = post(as_binary(r), "application/octet-stream");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(json::parse(res.body)["inserted"], 123);
  expect_loaded(r);
}

// A bad record after several committed chunks: the whole request is undone.
TEST_F(IngestHandlerTest, BadRecordLateInTheBodyUndoesTheCommittedChunks) {
  const Contents before = contents();
  Rows r = make_rows(300, 3);
  struct Case {
    const char* what;
    std::string body, type;
    int status;
    const char* message;
  };
  std::string nan_binary = as_binary(r);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&nan_binary[nan_binary.size() - 12], &nan, sizeof nan);  // the last row's last value (before its u32 length and 4-byte payload)
  const std::vector<Case> cases = {
      {"wrong dimension", as_jsonl(r) + R"({"key":[1,2,3],"value":[1,2,3]})" "\n", "application/x-ndjson", 422, "line 301: \"key\" has 3 numbers"},
      {"not JSON", as_jsonl(r) + "{oops\n", "application/x-ndjson", 400, "line 301: not a JSON object"},
      {"NaN", as_jsonl(r) + R"({"key":[1,2,3,1e39],"value":[1,2,3]})" "\n", "application/x-ndjson", 422, "line 301: \"key\" holds NaN or Inf"},
      {"truncated binary", as_binary(r).substr(0, as_binary(r).size() - 5), "application/octet-stream", 400, "record 300: truncated"},
      {"NaN in binary", nan_binary, "application/octet-stream", 422, "record 300: the value holds NaN or Inf"},
      // Over the line limit (by default ~1 MiB for these dimensions): 413, read no further.
      {"line too long", as_jsonl(r) + R"({"key":[)" + std::string(2u << 20, '1') + "\n", "application/x-ndjson", 413, "line 301: longer than"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Response res = post(c.body, c.type);
    EXPECT_EQ(res.status, c.status) << res.body;
    const std::string message = json::parse(res.body)["error"]["message"];
    EXPECT_NE(message.find(c.message), std::string::npos) << message;
    EXPECT_TRUE(contents() == before) << "a refused load left slots behind";
    EXPECT_EQ(mem().count(), 10u);
  }
  // Nothing is left pending either: the next load goes through.
  ASSERT_EQ(post(as_jsonl(r), "application/x-ndjson").status, 200);
  expect_loaded(r);
}

TEST_F(IngestHandlerTest, InterruptedLoadResumesWithTheSameBody) {
  Rows r = make_rows(180, 4);
  const std::string body = as_jsonl(r);
  interrupt_load(body);
  ASSERT_EQ(mem().count(), 10 + kChunkRows);

  // Without ?resume the pending job is refused (never doubled), and nothing changes.
  const Contents pending = contents();
  Response refused = post(body, "application/x-ndjson");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("?resume=true"), std::string::npos) << refused.body;
  EXPECT_TRUE(contents() == pending);

  Response res = post(body, "application/x-ndjson", "?resume=true");
  ASSERT_EQ(res.status, 200) << res.body;
  json j = json::parse(res.body);
  EXPECT_EQ(j["resumed_from"], kChunkRows);
  EXPECT_EQ(j["inserted"], 180 - kChunkRows);
  EXPECT_EQ(j["records"], 180);
  expect_loaded(r);  // every row exactly once
}

TEST_F(IngestHandlerTest, InterruptedLoadIsUndoneByDelete) {
  const Contents before = contents();
  interrupt_load(as_jsonl(make_rows(120, 5)));
  ASSERT_NE(mem().count(), 10u);
  Response res = service_->handle(make_request("DELETE", "/v1/memories/m/ingest"));
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_TRUE(contents() == before);
  Response again = service_->handle(make_request("DELETE", "/v1/memories/m/ingest"));
  EXPECT_EQ(again.status, 409) << again.body;  // nothing to undo
  EXPECT_EQ(json::parse(again.body)["error"]["code"], "failed_precondition");
}

TEST_F(IngestHandlerTest, OneIngestPerMemoryAtATime) {
  Rows r = make_rows(20, 6);
  {
    auto running = service_->claim_ingest("m");
    Response res = post(as_jsonl(r), "application/x-ndjson");
    EXPECT_EQ(res.status, 409) << res.body;
    EXPECT_EQ(mem().count(), 10u);
  }
  EXPECT_EQ(post(as_jsonl(r), "application/x-ndjson").status, 200);
}

TEST_F(IngestHandlerTest, RefusedBeforeReading) {
  EXPECT_EQ(post("x", "text/plain").status, 415);
  EXPECT_EQ(service_->handle(make_request("POST", "/v1/memories/nope/ingest", "{}", "application/x-ndjson")).status, 404);
  EXPECT_EQ(mem().count(), 10u);
}

}  // namespace
}  // namespace engram::server
