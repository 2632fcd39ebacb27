// e2e_test.cc — a real server on 127.0.0.1: clients, concurrency, restart, auth, limits,
// slow clients, graceful shutdown, and the curl session of docs/server.md.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <engram/engram.h>
#include <engram/remote_memory.h>
#include <engram/server.h>
#include <nlohmann/json.hpp>

#include "e2e_support.h"
#include "http_client.h"
#include "test_support.h"

namespace engram {
namespace {

using nlohmann::json;
using server::testing::random_matrix;
using server::testing::TempDir;
using Clock = std::chrono::steady_clock;
using e2e::RawSocket;
using e2e::TestServer;

MemoryConfig small_config(const std::string& index = "Flat") {
  MemoryConfig c;
  c.key_dim = 8;
  c.value_dim = 4;
  c.index = index;
  return c;
}


TEST(ServerE2E, RemoteMatchesEmbeddedOnTheSameData) {
  TestServer ts;
  RemoteDatabase db(ts.remote());
  EXPECT_TRUE(db.healthy());
  auto mem = db.create_memory("m", small_config("HNSW32"));
  auto keys = random_matrix(500, 8, 1), values = random_matrix(500, 4, 2);
  auto ids = mem->insert(MatrixView(keys, 8), MatrixView(values, 4));
  ASSERT_EQ(ids.size(), 500u);
  EXPECT_EQ(db.list_memories(), std::vector<std::string>{"m"});
  auto q = random_matrix(64, 8, 3);
  ReadResult remote = mem->read(MatrixView(q, 8), {.k = 32});
  ReadResult local = ts.srv->database().memory("m")->read(MatrixView(q, 8), {.k = 32});
  EXPECT_EQ(remote.ids, local.ids);
  EXPECT_EQ(remote.reads, local.reads);  // bit-exact: base64 carries float32 unchanged
  EXPECT_EQ(remote.weights, local.weights);
  db.drop_memory("m");
  EXPECT_FALSE(db.has_memory("m"));
  try {
    db.memory("m");
    ADD_FAILURE() << "expected kNotFound";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

// SearchOptions::ef and ::nprobe travel as "params" and reach the server's index: every setting
// gives the remote memory exactly what it gives the embedded one, the settings give different
// answers (so they did arrive), and an out-of-range one is the same error on both sides.
TEST(ServerE2E, SearchParamsRoundTripThroughTheClient) {
  TestServer ts;
  RemoteDatabase db(ts.remote());
  MemoryConfig hnsw = small_config("HNSW32");
  hnsw.key_dim = 32;
  hnsw.search_params = "efSearch=16";
  hnsw.ef_construction = 32;
  MemoryConfig ivf = small_config("IVF32,Flat");
  ivf.key_dim = 32;
  ivf.search_params = "nprobe=2";
  auto keys = random_matrix(3000, 32, 1), values = random_matrix(3000, 4, 2);
  auto q = random_matrix(100, 32, 3);
  for (const MemoryConfig& cfg : {hnsw, ivf}) {
    SCOPED_TRACE(cfg.index);
    const bool is_ivf = cfg.index.rfind("IVF", 0) == 0;
    auto remote = db.create_memory(is_ivf ? "ivf" : "hnsw", cfg);
    remote->insert(MatrixView(keys, 32), MatrixView(values, 4));
    auto local = ts.srv->database().memory(is_ivf ? "ivf" : "hnsw");
    if (!local->stats().trained) local->train();
    std::vector<std::vector<SlotId>> found;
    for (int setting : {1, 4, 32, 256}) {
      SearchOptions o{.k = 10};
      (is_ivf ? o.nprobe : o.ef) = setting;
      const SearchResult r = remote->search(MatrixView(q, 32), o);
      const SearchResult l = local->search(MatrixView(q, 32), o);
      EXPECT_EQ(r.ids, l.ids) << setting;
      EXPECT_EQ(r.scores, l.scores) << setting;
      o.temperature = 0.5f;
      const ReadResult rr = remote->read(MatrixView(q, 32), o);
      const ReadResult lr = local->read(MatrixView(q, 32), o);
      EXPECT_EQ(rr.ids, lr.ids) << setting;
      EXPECT_EQ(rr.reads, lr.reads) << setting;
      found.push_back(r.ids);
    }
    EXPECT_NE(found.front(), found.back()) << "the setting did not reach the index";
    EXPECT_EQ(remote->search(MatrixView(q, 32), {.k = 10}).ids, local->search(MatrixView(q, 32), {.k = 10}).ids);
    for (SearchOptions bad : {SearchOptions{.ef = -1}, SearchOptions{.nprobe = kMaxNprobe + 1}}) {
      try {
        remote->search(MatrixView(q, 32), bad);
        ADD_FAILURE() << "expected kInvalidArgument";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
      }
    }
  }
}

TEST(ServerE2E, ManyConcurrentClients) {
  server::ServerOptions o;
  o.threads = 4;
  TestServer ts(o);
  RemoteDatabase admin(ts.remote());
  admin.create_memory("m", small_config("HNSW32"));
  constexpr int kClients = 32, kRounds = 20, kRows = 5;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<SlotId> all_ids;
  std::atomic<int> errors{0};
  RemoteDatabase shared(ts.remote());  // half the clients share one pool, half have their own
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      try {
        std::unique_ptr<RemoteDatabase> own;
        RemoteDatabase* db = &shared;
        if (c % 2) db = (own = std::make_unique<RemoteDatabase>(ts.remote())).get();
        auto mem = db->memory("m");
        for (int r = 0; r < kRounds; ++r) {
          auto k = random_matrix(kRows, 8, c * 1000 + r), v = random_matrix(kRows, 4, c * 1000 + r + 500);
          auto ids = mem->insert(MatrixView(k, 8), MatrixView(v, 4), {}, WriteOptions{false});
          mem->read(MatrixView(k, 8), {.k = 8});
          std::lock_guard<std::mutex> lock(mu);
          all_ids.insert(all_ids.end(), ids.begin(), ids.end());
        }
      } catch (const std::exception& e) {
        ++errors;
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  std::sort(all_ids.begin(), all_ids.end());
  EXPECT_EQ(std::unique(all_ids.begin(), all_ids.end()), all_ids.end()) << "an id was handed out twice";
  EXPECT_EQ(all_ids.size(), std::size_t(kClients * kRounds * kRows));
  EXPECT_EQ(admin.memory("m")->count(), all_ids.size());
}

TEST(ServerE2E, RestartFindsEverything) {
  TempDir dir;
  std::vector<SlotId> ids;
  auto keys = random_matrix(300, 8, 5), values = random_matrix(300, 4, 6);
  ReadResult before;
  auto q = random_matrix(4, 8, 7);
  {
    TestServer ts({}, dir.path());
    RemoteDatabase db(ts.remote());
    auto mem = db.create_memory("m", small_config("HNSW32"));
    db.create_memory("other", small_config());
    ids = mem->insert(MatrixView(keys, 8), MatrixView(values, 4));
    mem->erase({ids[0]});
    before = mem->read(MatrixView(q, 8), {.k = 10});
  }  // the server stops and checkpoints
  TestServer ts({}, dir.path());
  RemoteDatabase db(ts.remote());
  EXPECT_EQ(db.list_memories(), (std::vector<std::string>{"m", "other"}));
  auto mem = db.memory("m");
  EXPECT_EQ(mem->count(), 299u);
  EXPECT_EQ(mem->get_one(ids[299]).value, std::vector<float>(values.end() - 4, values.end()));
  ReadResult after = mem->read(MatrixView(q, 8), {.k = 10});
  EXPECT_EQ(after.ids, before.ids);
  EXPECT_EQ(after.reads, before.reads);
}

TEST(ServerE2E, BearerToken) {
  server::ServerOptions o;
  o.token = "tok-123";
  TestServer ts(o);
  RemoteDatabase good(ts.remote("tok-123"));
  good.create_memory("m", small_config());
  RemoteDatabase none(ts.remote());
  RemoteDatabase wrong(ts.remote("nope"));
  EXPECT_TRUE(none.healthy());  // health needs no token
  for (RemoteDatabase* db : {&none, &wrong}) {
    try {
      db->list_memories();
      ADD_FAILURE() << "expected a refusal";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("token"), std::string::npos) << e.what();
    }
  }
  detail::HttpClient raw(ts.remote());
  auto res = raw.request("GET", "/v1/memories");
  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(json::parse(res.body)["error"]["code"], "unauthenticated");
  EXPECT_EQ(good.memory("m")->count(), 0u);
}

TEST(ServerE2E, UnreachableServerIsUnavailable) {
  std::uint16_t port;
  {
    TestServer ts;
    port = ts.srv->port();
  }
  RemoteOptions r;
  r.port = port;
  r.connect_timeout = std::chrono::milliseconds(500);
  RemoteDatabase db(r);
  EXPECT_FALSE(db.healthy());
  try {
    db.memory("m");
    ADD_FAILURE() << "expected kUnavailable";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("connect"), std::string::npos) << e.what();
  }
}

TEST(ServerE2E, SlowLorisIsCutOff) {
  server::ServerOptions o;
  o.header_timeout_s = 1;
  TestServer ts(o);
  RawSocket s(ts.srv->port());
  ASSERT_TRUE(s.connected());
  const std::string header = "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaa\r\n\r\n";
  auto start = Clock::now();
  bool cut = false;
  for (char c : header) {  // one byte every 100 ms: the header would take ~6 s
    if (!s.send(std::string(1, c))) { cut = true; break; }
    if (s.closed_within(100)) { cut = true; break; }
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_TRUE(cut) << "the slow client was never cut off";
  EXPECT_LT(seconds, 5.0);  // 1 s allowed; generous for loaded test machines
  // The server still serves everyone else.
  EXPECT_TRUE(RemoteDatabase(ts.remote()).healthy());
}

TEST(ServerE2E, IdleKeepAliveConnectionIsClosed) {
  server::ServerOptions o;
  o.idle_timeout_s = 0.5;
  TestServer ts(o);
  RawSocket s(ts.srv->port());
  ASSERT_TRUE(s.send("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto start = Clock::now();
  std::string reply = s.read_all(3000);
  EXPECT_NE(reply.find("200 OK"), std::string::npos) << reply;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 2.5);  // 0.5 s allowed
}

// The server closes a pooled keep-alive connection while it sits idle; the client notices when it
// next uses it and retries once on a fresh connection, so the caller never sees it.
TEST(ServerE2E, ClientSurvivesServerClosingIdleConnections) {
  server::ServerOptions o;
  o.idle_timeout_s = 0.2;
  TestServer ts(o);
  RemoteDatabase db(ts.remote());  // pool_idle_timeout (30 s) is far above the server's 0.2 s
  auto mem = db.create_memory("m", small_config());
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    mem->insert_one(std::vector<float>(8, 1.0f), std::vector<float>(4, 1.0f));
  }
  EXPECT_EQ(mem->count(), 3u);
}

TEST(ServerE2E, ConnectionLimit) {
  server::ServerOptions o;
  o.max_connections = 2;
  TestServer ts(o);
  RawSocket a(ts.srv->port()), b(ts.srv->port());
  ASSERT_TRUE(a.send("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(b.send("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
  // Answered: both connections are open sessions now.
  ASSERT_TRUE(a.wait_for("200 OK", 5000));
  ASSERT_TRUE(b.wait_for("200 OK", 5000));
  RawSocket c(ts.srv->port());
  std::string reply = c.read_all(2000);
  EXPECT_NE(reply.find("503"), std::string::npos) << reply;
}

TEST(ServerE2E, OversizedBodyIsRefusedBeforeItIsRead) {
  server::ServerOptions o;
  o.max_body_bytes = 1000;
  TestServer ts(o);
  RemoteDatabase(ts.remote()).create_memory("m", small_config());
  RawSocket s(ts.srv->port());
  // Announces 10 MB and sends none of it: the answer must not wait for the body.
  ASSERT_TRUE(s.send("POST /v1/memories/m/slots HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: 10000000\r\n\r\n"));
  std::string reply = s.read_all(2000);
  EXPECT_NE(reply.find("413"), std::string::npos) << reply;
  EXPECT_NE(reply.find("payload_too_large"), std::string::npos) << reply;
  // Chunked bodies are counted as they arrive.
  detail::HttpClient raw(ts.remote());
  auto res = raw.request("POST", "/v1/memories/m/slots", std::string(5000, ' '));
  EXPECT_EQ(res.status, 413);
  EXPECT_EQ(RemoteDatabase(ts.remote()).memory("m")->count(), 0u);
}

// Clients insert as fast as they can while the server stops. Every insert that was answered
// must be in the database afterwards.
TEST(ServerE2E, GracefulShutdownLosesNoAcknowledgedWrite) {
  TempDir dir;
  std::mutex mu;
  std::vector<std::pair<SlotId, std::string>> acked;
  std::atomic<int> unavailable{0}, other_errors{0};
  {
    TestServer ts({}, dir.path());
    RemoteDatabase(ts.remote()).create_memory("m", small_config("HNSW32"));
    std::atomic<bool> go{true};
    std::vector<std::thread> clients;
    for (int c = 0; c < 8; ++c) {
      clients.emplace_back([&, c] {
        RemoteDatabase db(ts.remote());
        auto mem = db.memory("m");
        for (int i = 0; go; ++i) {
          std::string payload = std::to_string(c) + ":" + std::to_string(i);
          try {
            auto k = random_matrix(1, 8, c * 100000 + i), v = random_matrix(1, 4, i);
            auto ids = mem->insert(MatrixView(k, 8), MatrixView(v, 4), {payload});
            std::lock_guard<std::mutex> lock(mu);
            acked.emplace_back(ids[0], payload);
          } catch (const Error& e) {
            if (e.code() == ErrorCode::kUnavailable) ++unavailable;
            else ++other_errors;
            return;
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ts.srv->stop();
    go = false;
    for (auto& t : clients) t.join();
  }
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_GT(acked.size(), 0u);
  auto db = Database::open(dir.path());
  auto mem = db->memory("m");
  EXPECT_EQ(mem->count(), acked.size());
  for (auto& [id, payload] : acked) EXPECT_EQ(mem->get_one(id).payload, payload);
}

// Which Engram is serving: /v1/version, the health answer, every answer's Server header and
// the engram_build_info metric all name the library's version and commit.
TEST(ServerE2E, VersionEverywhere) {
  TestServer ts;
  detail::HttpClient raw(ts.remote());
  auto v = json::parse(raw.request("GET", "/v1/version").body);
  EXPECT_EQ(v.at("version"), engram::version());
  EXPECT_EQ(v.at("commit"), engram::git_commit());
  EXPECT_EQ(v.at("simd"), engram::simd_level());
  EXPECT_FALSE(std::string(engram::git_commit()).empty());
  auto h = json::parse(raw.request("GET", "/v1/health").body);
  EXPECT_EQ(h.at("version"), engram::version());
  EXPECT_EQ(h.at("commit"), engram::git_commit());
  const std::string metrics = raw.request("GET", "/v1/metrics").body;
  EXPECT_NE(metrics.find(std::string("engram_build_info{version=\"") + engram::version() + "\",commit=\"" +
                         engram::git_commit() + "\"} 1\n"),
            std::string::npos)
      << metrics.substr(0, 400);
  RawSocket s(ts.srv->port());
  ASSERT_TRUE(s.send("GET /v1/nowhere HTTP/1.1\r\nHost: x\r\n\r\n"));  // error answers too
  EXPECT_TRUE(s.wait_for(std::string("Server: engram/") + engram::version() + "\r\n", 3000)) << s.received();
}

TEST(ServerE2E, StopAnswersLateRequestsWith503OrCloses) {
  TestServer ts;
  detail::HttpClient raw(ts.remote());
  EXPECT_EQ(raw.request("GET", "/v1/health").status, 200);  // a pooled keep-alive connection
  ts.srv->stop();
  try {
    auto res = raw.request("GET", "/v1/health");
    EXPECT_EQ(res.status, 503);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
  }
}

// Runs the curl session of docs/server.md, exactly as written there, against a real server.
TEST(ServerE2E, DocumentedCurlSessionWorks) {
  std::ifstream in(ENGRAM_SERVER_DOC);
  ASSERT_TRUE(in) << "cannot open " << ENGRAM_SERVER_DOC;
  std::stringstream all;
  all << in.rdbuf();
  const std::string doc = all.str();
  // The session is the ```sh block right after the marker <!-- curl-session -->.
  auto marker = doc.find("<!-- curl-session -->");
  ASSERT_NE(marker, std::string::npos);
  auto open = doc.find("```sh\n", marker);
  ASSERT_NE(open, std::string::npos);
  auto close = doc.find("\n```", open + 6);
  std::string script = doc.substr(open + 6, close - open - 6);
  ASSERT_NE(script.find("curl"), std::string::npos);

  TestServer ts;
  TempDir work;
  const std::string path = work.sub("session.sh");
  {
    std::ofstream out(path);
    // The documented session talks to $ENGRAM (default http://127.0.0.1:8420); point it here.
    out << "set -euo pipefail\nexport ENGRAM=http://127.0.0.1:" << ts.srv->port() << "\n" << script << "\n";
  }
  const std::string cmd = "cd " + work.path() + " && bash " + path + " > out.txt 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream out_file(work.sub("out.txt"));
  std::stringstream output;
  output << out_file.rdbuf();
  ASSERT_EQ(rc, 0) << "the documented curl session failed:\n" << output.str();
  // Every response the session printed is JSON.
  std::istringstream lines(output.str());
  std::string line;
  int responses = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded()) << line;
    ++responses;
  }
  EXPECT_GE(responses, 5);
  auto mem = ts.srv->database().memory("facts");
  EXPECT_GE(mem->count(), 2u);
}

}  // namespace
}  // namespace engram
