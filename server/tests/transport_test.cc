// transport_test.cc — HTTP/1.1 at the byte level against a real server on 127.0.0.1: how
// requests are framed, answered and closed, over raw sockets (a real client would hide the very
// bytes these tests look at).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include <engram/bulk_load.h>
#include <engram/engram.h>
#include <nlohmann/json.hpp>

#include "e2e_support.h"

namespace engram {
namespace {

using e2e::chunk;
using e2e::RawSocket;
using e2e::TestServer;
using e2e::upload_header;
using e2e::wait_until;
using nlohmann::json;
using server::testing::random_matrix;
using server::testing::TempDir;
using Clock = std::chrono::steady_clock;

// ---- a minimal HTTP/1.1 response reader (the server frames every answer with Content-Length)

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  json error() const {
    json j = json::parse(body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"] : json::object();
  }
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Takes the first complete response off the front of `bytes`; nothing while it is incomplete.
// `head`: the answer to a HEAD request, which has the headers of a body but not the body.
std::optional<Reply> take_reply(std::string& bytes, bool head = false) {
  const auto end = bytes.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  if (bytes.rfind("HTTP/1.1 ", 0) != 0) {
    ADD_FAILURE() << "not the start of a response: " << bytes.substr(0, 80);
    return std::nullopt;
  }
  Reply r;
  r.status = std::stoi(bytes.substr(9, 3));
  std::istringstream lines(bytes.substr(0, end));
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto value = line.find_first_not_of(' ', colon + 1);
    r.headers[lower(line.substr(0, colon))] = value == std::string::npos ? "" : line.substr(value);
  }
  const std::string length = r.header("content-length");
  const std::size_t body = head || length.empty() ? 0 : std::stoull(length);
  if (bytes.size() < end + 4 + body) return std::nullopt;
  r.body = bytes.substr(end + 4, body);
  bytes.erase(0, end + 4 + body);
  return r;
}

// Reads replies from `s`, one per entry of `heads` (true: the answer to a HEAD), until all are
// complete, the connection ends or `timeout_ms` passes. `pace` > 0 reads like a slow client: at
// most `pace` bytes a read, with a millisecond's pause after each.
std::vector<Reply> read_replies(RawSocket& s, const std::vector<bool>& heads, int timeout_ms,
                                std::size_t pace = 0) {
  std::vector<Reply> out;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  bool open = true;
  while (out.size() < heads.size()) {
    if (auto r = take_reply(s.buffer(), heads[out.size()])) {
      out.push_back(std::move(*r));
      continue;
    }
    if (!open || Clock::now() >= deadline) break;
    open = s.receive_some(50, pace > 0 ? pace : 64 << 10);
    if (pace > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return out;
}

std::optional<Reply> read_reply(RawSocket& s, int timeout_ms = 5000) {
  auto replies = read_replies(s, {false}, timeout_ms);
  if (replies.empty()) return std::nullopt;
  return replies.front();
}

// ---- 1. an answer followed by a refusal arrives whole

// A request with a JSON body framed by Content-Length (no body: none). `headers`: extra header
// lines, each ending in \r\n.
std::string request(const std::string& method, const std::string& target,
                    const std::string& body = {}, const std::string& headers = {}) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers;
  if (!body.empty())
    out +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  return out + "\r\n" + body;
}

constexpr std::size_t kBigDim = 64, kBigSlots = 1024, kBigQueries = 16;

// A memory whose retrieve of kBigQueries queries with k = kBigSlots answers about 11 MB.
void fill_big_memory(server::Server& srv) {
  MemoryConfig c;
  c.key_dim = c.value_dim = kBigDim;
  c.sync = false;
  auto mem = srv.database().create_memory("big", c);
  auto keys = random_matrix(kBigSlots, kBigDim, 1), values = random_matrix(kBigSlots, kBigDim, 2);
  mem->insert(MatrixView(keys, kBigDim), MatrixView(values, kBigDim));
}

std::string big_retrieve(const std::string& auth) {
  auto q = random_matrix(kBigQueries, kBigDim, 3);
  json queries = json::array();
  for (std::size_t i = 0; i < kBigQueries; ++i)
    queries.push_back(std::vector<float>(q.begin() + i * kBigDim, q.begin() + (i + 1) * kBigDim));
  json body = {{"queries", queries}, {"k", kBigSlots}, {"encoding", "base64"}};
  return request("POST", "/v1/memories/big/retrieve", body.dump(), auth);
}

// Pipelines the big retrieve and `refused`, reads slowly, and expects the big answer whole and
// then the refusal with status `status`. Before lingering close the server closed as soon as it
// had refused, with the refused body unread: the kernel reset the connection and the client
// lost the end of the big answer.
void expect_big_answer_then_refusal(TestServer& ts, const std::string& auth,
                                    const std::string& refused, int status) {
  fill_big_memory(*ts.srv);
  RawSocket s(ts.srv->port());
  ASSERT_TRUE(s.connected());
  const std::string both = big_retrieve(auth) + refused;
  std::thread sender([&] { s.send(both); });  // blocks while the server is behind
  auto replies = read_replies(s, {false, false}, 60000, /*pace=*/32 << 10);
  sender.join();
  ASSERT_GE(replies.size(), 1u) << "the big answer was cut short (" << s.received().size()
                                << " bytes arrived" << (s.was_reset() ? ", then a reset)" : ")");
  EXPECT_EQ(replies[0].status, 200) << replies[0].body.substr(0, 200);
  json big = json::parse(replies[0].body, nullptr, false);
  ASSERT_TRUE(big.is_object());
  EXPECT_EQ(big["ids"].size(), kBigQueries);
  ASSERT_EQ(replies.size(), 2u) << "the refusal was lost" << (s.was_reset() ? " (reset)" : "");
  EXPECT_EQ(replies[1].status, status) << replies[1].body;
  EXPECT_EQ(replies[1].header("connection"), "close");
}

TEST(Transport, BigAnswerSurvivesAPipelinedRequestWithAWrongToken) {
  server::ServerOptions o;
  o.token = "tok";
  TestServer ts(o);
  const std::string refused = request("POST", "/v1/memories/big/slots", std::string(1 << 20, ' '),
                                      "Authorization: Bearer wrong\r\n");
  expect_big_answer_then_refusal(ts, "Authorization: Bearer tok\r\n", refused, 401);
}

TEST(Transport, BigAnswerSurvivesAPipelinedRequestOverTheBodyLimit) {
  server::ServerOptions o;
  o.max_body_bytes = 256 << 10;
  TestServer ts(o);
  const std::string refused = request("POST", "/v1/memories/big/slots", std::string(1 << 20, ' '));
  expect_big_answer_then_refusal(ts, "", refused, 413);
}

// ---- 2. malformed framing is answered 400 (501 for a transfer coding other than chunked)

std::shared_ptr<Memory> small_memory(server::Server& srv) {
  MemoryConfig c;
  c.key_dim = 4;
  c.value_dim = 2;
  c.sync = false;
  return srv.database().create_memory("m", c);
}

const std::string kInsert = R"({"keys":[[1,0,0,0]],"values":[[1,2]]})";

struct FramingCase {
  std::string what;
  std::string framing_and_body;  // header lines about the body, the blank line, the body
  int status;
  std::string code;
};

std::vector<FramingCase> framing_cases(const std::string& body) {
  const std::string chunked = "Transfer-Encoding: chunked\r\n\r\n";
  const std::string length = "Content-Length: " + std::to_string(body.size()) + "\r\n";
  const std::string end = "\r\n0\r\n\r\n";
  char short_size[16];
  std::snprintf(short_size, sizeof short_size, "%zx\r\n", body.size() - 5);
  return {
      {"chunk size not hex", chunked + "zz\r\n" + body + end, 400, "bad_request"},
      {"negative chunk size", chunked + "-5\r\n" + body + end, 400, "bad_request"},
      {"chunk size over 64 bits", chunked + "ffffffffffffffffff\r\n" + body + end, 400,
       "bad_request"},
      {"chunk size smaller than its data", chunked + short_size + body + end, 400, "bad_request"},
      {"gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunk(body) + "0\r\n\r\n", 501,
       "not_implemented"},
      {"gzip then chunked in two fields",
       "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(body) + "0\r\n\r\n",
       501, "not_implemented"},
      {"gzip alone, with Content-Length", "Transfer-Encoding: gzip\r\n" + length + "\r\n" + body,
       400, "bad_request"},
      {"Content-Length, then chunked", length + chunked + chunk(body) + "0\r\n\r\n", 400,
       "bad_request"},
      {"chunked, then Content-Length",
       "Transfer-Encoding: chunked\r\n" + length + "\r\n" + chunk(body) + "0\r\n\r\n", 400,
       "bad_request"},
  };
}

TEST(Transport, MalformedFramingIsAnsweredNotDropped) {
  TestServer ts;
  auto mem = small_memory(*ts.srv);
  struct Route {
    std::string target, content_type, body;
  };
  const Route routes[] = {
      {"/v1/memories/m/slots", "application/json", kInsert},
      {"/v1/memories/m/ingest", "application/x-ndjson", "{\"key\":[1,0,0,0],\"value\":[1,2]}\n"},
  };
  for (const Route& route : routes) {
    for (const FramingCase& c : framing_cases(route.body)) {
      SCOPED_TRACE(route.target + ": " + c.what);
      RawSocket s(ts.srv->port());
      ASSERT_TRUE(s.send("POST " + route.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " +
                         route.content_type + "\r\n" + c.framing_and_body));
      auto r = read_reply(s);
      ASSERT_TRUE(r) << "no answer; got: " << s.received();
      EXPECT_EQ(r->status, c.status) << r->body;
      EXPECT_EQ(r->error()["code"], c.code) << r->body;
      EXPECT_FALSE(r->error().value("message", "").empty()) << r->body;
      EXPECT_EQ(r->header("connection"), "close");
    }
  }
  EXPECT_EQ(mem->count(), 0u);
}

// ---- 3. HEAD, and the auth scheme's case

TEST(Transport, HeadIsAnsweredLikeGetWithoutABody) {
  TestServer ts;
  small_memory(*ts.srv);
  RawSocket s(ts.srv->port());
  ASSERT_TRUE(s.send(request("HEAD", "/v1/memories/m") + request("GET", "/v1/memories/m") +
                     request("HEAD", "/v1/health") + request("HEAD", "/v1/nothing") +
                     request("HEAD", "/v1/memories/m/read") + request("GET", "/v1/health")));
  auto r = read_replies(s, {true, false, true, true, true, false}, 5000);
  ASSERT_EQ(r.size(), 6u) << "left: " << s.received();
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[1].status, 200);
  // A memory's description holds its checkpoint's age (a clock), so its length may differ from
  // one answer to the next; the health answer's does not.
  EXPECT_FALSE(r[0].header("content-length").empty());
  EXPECT_EQ(r[0].header("content-type"), r[1].header("content-type"));
  EXPECT_EQ(r[2].status, 200);
  EXPECT_EQ(r[2].header("content-length"), std::to_string(r[5].body.size()));
  EXPECT_EQ(r[3].status, 404);
  EXPECT_EQ(r[4].status, 405);
  EXPECT_EQ(r[4].header("allow"), "POST");
  // The sixth answer parsed where it should: no HEAD answer carried body bytes.
  EXPECT_EQ(r[5].status, 200);
  EXPECT_EQ(json::parse(r[5].body, nullptr, false).value("status", ""), "ok");
  EXPECT_TRUE(s.received().empty()) << "stray bytes: " << s.received();
}

TEST(Transport, BearerSchemeIsCaseInsensitiveTheTokenIsNot) {
  server::ServerOptions o;
  o.token = "s3cret-Token";
  TestServer ts(o);
  const std::pair<const char*, int> cases[] = {
      {"Bearer s3cret-Token", 200},  {"bearer s3cret-Token", 200}, {"BEARER s3cret-Token", 200},
      {"bEaReR  s3cret-Token", 200}, {"Bearer s3cret-token", 401}, {"bearer wrong", 401},
      {"Basic s3cret-Token", 401},   {"Bearers3cret-Token", 401},  {"Bearer", 401},
  };
  for (const auto& [auth, status] : cases) {
    SCOPED_TRACE(auth);
    RawSocket s(ts.srv->port());
    ASSERT_TRUE(
        s.send(request("GET", "/v1/memories", "", std::string("Authorization: ") + auth + "\r\n")));
    auto r = read_reply(s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
  }
}

// ---- CORS (--cors-origin): the header on every answer, refusals included, and preflights
// answered without the token (browsers send none with them).

TEST(Transport, CorsOriginOnEveryAnswerAndPreflightAnswered) {
  server::ServerOptions o;
  o.token = "t";
  o.cors_origin = "https://console.example";
  TestServer ts(o);
  RawSocket s(ts.srv->port());
  const std::string preflight =
      "Origin: https://console.example\r\nAccess-Control-Request-Method: POST\r\n"
      "Access-Control-Request-Headers: authorization, content-type\r\n";
  ASSERT_TRUE(s.send(request("OPTIONS", "/v1/memories/m/search", "", preflight) +
                     request("GET", "/v1/memories") + request("OPTIONS", "/v1/nothing", "", preflight) +
                     request("GET", "/v1/memories", "", "Authorization: Bearer t\r\n")));
  auto r = read_replies(s, {false, false, false, false}, 5000);
  ASSERT_EQ(r.size(), 4u) << "left: " << s.received();
  EXPECT_EQ(r[0].status, 204) << r[0].body;
  EXPECT_EQ(r[0].header("access-control-allow-origin"), "https://console.example");
  EXPECT_NE(r[0].header("access-control-allow-methods").find("POST"), std::string::npos);
  EXPECT_NE(r[0].header("access-control-allow-headers").find("Authorization"), std::string::npos);
  EXPECT_NE(r[0].header("access-control-allow-headers").find("Content-Type"), std::string::npos);
  EXPECT_EQ(r[1].status, 401);
  EXPECT_EQ(r[1].header("access-control-allow-origin"), "https://console.example");
  EXPECT_EQ(r[2].status, 404);
  EXPECT_EQ(r[3].status, 200);
  EXPECT_EQ(r[3].header("access-control-allow-origin"), "https://console.example");
}

TEST(Transport, NoCorsUnlessAsked) {
  TestServer ts;
  RawSocket s(ts.srv->port());
  ASSERT_TRUE(s.send(request("OPTIONS", "/v1/memories") + request("GET", "/v1/memories")));
  auto r = read_replies(s, {false, false}, 5000);
  ASSERT_EQ(r.size(), 2u) << "left: " << s.received();
  EXPECT_EQ(r[0].status, 405);
  EXPECT_EQ(r[1].status, 200);
  EXPECT_EQ(r[1].header("access-control-allow-origin"), "");
}

// ---- 4 and 5. streaming uploads: shutdown, and answers given before the body was read

constexpr std::size_t kIngestDim = 32;

std::string rows(std::size_t first, std::size_t n) {
  return e2e::binary_rows(first, n, kIngestDim);
}

std::shared_ptr<Memory> ingest_memory(server::Server& srv) {
  return e2e::make_ingest_memory(srv, kIngestDim);
}

// Sends a slow chunked upload (a piece every 50 ms) until an answer has arrived, the server
// closes or `timeout_ms` passes; returns the answer.
std::optional<Reply> slow_upload(RawSocket& s, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (std::size_t first = 0; Clock::now() < deadline; first += 200) {
    if (auto r = take_reply(s.buffer())) return r;
    if (!s.send(chunk(rows(first, 200)))) break;
    if (!s.receive_some(50, 64 << 10)) break;
  }
  return read_reply(s, 1000);
}

TEST(Transport, StopDuringAnUploadAnswers503AndReturnsPromptly) {
  TempDir dir;
  std::optional<Reply> reply;
  double stop_seconds = 0;
  {
    server::ServerOptions o;
    o.ingest_chunk_rows = 500;
    o.shutdown_grace_s = 5;
    TestServer ts(o, dir.path());
    auto mem = ingest_memory(*ts.srv);
    RawSocket s(ts.srv->port());
    ASSERT_TRUE(s.send(upload_header("/v1/memories/m/ingest")));
    std::thread client([&] { reply = slow_upload(s, 8000); });
    EXPECT_TRUE(wait_until([&] { return mem->count() >= 500; }, 30000)) << "no chunk was committed";
    const auto start = Clock::now();
    ts.srv->stop();
    stop_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    client.join();
  }
  EXPECT_LE(stop_seconds, 2.0);
  ASSERT_TRUE(reply) << "the uploading client got no answer";
  EXPECT_EQ(reply->status, 503) << reply->body;
  EXPECT_EQ(reply->error()["code"], "unavailable") << reply->body;
  auto db = Database::open(dir.path());
  auto mem = db->memory("m");
  EXPECT_EQ(mem->count(), 0u) << "the cut upload was not undone";
  EXPECT_NO_THROW(BulkLoader(*db, mem, /*resume=*/false)) << "an interrupted ingest job was left";
}

std::string binary_upload(const std::string& target, const std::string& body) {
  return "POST " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A client that sends its whole body before reading must get the answer even when the handler
// answered without reading the body (here: ?resume=true of a completed load, an unknown memory).
TEST(Transport, AnswerGivenBeforeTheBodyWasReadReachesTheClient) {
  TestServer ts;
  auto mem = ingest_memory(*ts.srv);
  const std::string body = rows(0, 16000);  // about 4 MB
  {
    RawSocket s(ts.srv->port());
    ASSERT_TRUE(s.send(binary_upload("/v1/memories/m/ingest", body)));
    auto r = read_reply(s, 60000);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  ASSERT_EQ(mem->count(), 16000u);
  RawSocket s(ts.srv->port());
  ASSERT_TRUE(s.send(binary_upload("/v1/memories/m/ingest?resume=true", body)))
      << "the server stopped reading the body"
      << (s.was_reset() ? " and reset the connection" : "");
  auto r = read_reply(s, 30000);
  ASSERT_TRUE(r) << "no answer";
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body, nullptr, false).value("already_done", false), true) << r->body;
  // The body was read to its end, so the connection is still in step: it takes more requests.
  ASSERT_TRUE(s.send(binary_upload("/v1/memories/nope/ingest", body)));
  r = read_reply(s, 30000);
  ASSERT_TRUE(r) << "no answer";
  EXPECT_EQ(r->status, 404) << r->body;
  EXPECT_EQ(mem->count(), 16000u);
}

// ---- 6. the budget for request bodies in flight

TEST(Transport, BodiesInFlightShareABudget) {
  server::ServerOptions o;
  o.max_inflight_body_bytes = 1 << 20;
  TestServer ts(o);
  auto mem = small_memory(*ts.srv);
  const std::size_t size = 400 << 10;
  const std::string body = kInsert + std::string(size - kInsert.size(), ' ');
  const std::string header =
      "POST /v1/memories/m/slots HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Expect: 100-continue\r\nContent-Length: " +
      std::to_string(size) + "\r\n\r\n";
  // Opens a request whose body the server has agreed to take (its share is reserved); null
  // when the server refused.
  auto open_request = [&]() -> std::unique_ptr<RawSocket> {
    auto s = std::make_unique<RawSocket>(ts.srv->port());
    if (!s->send(header) || !s->wait_for("\r\n\r\n", 5000)) return nullptr;
    if (s->received().rfind("HTTP/1.1 100", 0) != 0) return nullptr;
    s->buffer().clear();
    return s;
  };
  auto a = open_request(), b = open_request();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->send(body.substr(0, 100000)) && b->send(body.substr(0, 100000)));

  // A third 400 KiB would take the bodies in flight past 1 MiB: refused before its body is read.
  {
    RawSocket c(ts.srv->port());
    ASSERT_TRUE(c.send(header));
    auto r = read_reply(c);
    ASSERT_TRUE(r) << "got: " << c.received();
    EXPECT_EQ(r->status, 503) << r->body;
    EXPECT_EQ(r->error()["code"], "unavailable");
    EXPECT_NE(r->error().value("message", "").find("budget"), std::string::npos) << r->body;
    EXPECT_FALSE(r->header("retry-after").empty());
  }
  // A chunked body is charged as it grows: refused once it would pass the budget.
  {
    RawSocket c(ts.srv->port());
    ASSERT_TRUE(c.send("POST /v1/memories/m/slots HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
    std::optional<Reply> r;
    for (int i = 0; i < 16 && !r; ++i) {  // 64 KiB a chunk: 1 MiB at most
      if (!c.send(chunk(std::string(64 << 10, ' ')))) break;
      c.receive_some(20);
      r = take_reply(c.buffer());
    }
    if (!r) r = read_reply(c);
    ASSERT_TRUE(r) << "got: " << c.received();
    EXPECT_EQ(r->status, 503) << r->body;
  }
  // A client that vanishes mid-body gives its share back.
  a.reset();
  std::unique_ptr<RawSocket> d;
  ASSERT_TRUE(wait_until([&] { return (d = open_request()) != nullptr; }, 5000));
  // Bodies that complete are handled and give their share back too.
  ASSERT_TRUE(b->send(body.substr(100000)) && d->send(body));
  for (RawSocket* s : {b.get(), d.get()}) {
    auto r = read_reply(*s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  }
  auto e = open_request(), f = open_request();
  ASSERT_TRUE(e && f) << "the budget was not given back";
  EXPECT_EQ(mem->count(), 2u);
}

}  // namespace
}  // namespace engram
