// memory_bound_test.cc — what one request may cost the server in memory, accepted or refused.
//
// The bound: a request's peak RSS rise is at most 3× its body plus 64 MiB (the body held once by
// the network layer, decoded floats at most 2× its text, a constant for the rest); an ingest
// streams, so its rise is the constant alone whatever its size. Each hostile case below once
// cost 1-2 GB, a 500 "out of memory", or a whole 256 MiB line in memory.
//
// The server runs in this process, so the test reads its own /proc/self/status. Before each
// request, freed heap is handed back to the kernel (malloc_trim) and the peak (VmHWM) is reset
// (writing 5 to /proc/self/clear_refs), so the rise of VmHWM over VmRSS is what the request
// itself touched. The bodies are built before the reset: the test's own copy is not counted.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdio>
#include <fstream>
#include <random>

#include <engram/engram.h>
#include <nlohmann/json.hpp>

#include "e2e_support.h"

namespace engram {
namespace {

using e2e::RawSocket;
using e2e::TestServer;
using nlohmann::json;
using server::testing::capture;
using server::testing::MemoryState;

constexpr std::size_t kMiB = 1u << 20;
constexpr std::size_t kConstant = 64 * kMiB;

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM").
std::size_t status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) * 1024;
  return 0;
}

// The peak RSS rise since start().
class PeakRss {
 public:
  void start() {
    malloc_trim(0);
    std::ofstream("/proc/self/clear_refs") << "5";
    base_ = status_bytes("VmRSS");
  }
  std::size_t rise() const {
    const std::size_t peak = status_bytes("VmHWM");
    return peak > base_ ? peak - base_ : 0;
  }

 private:
  std::size_t base_ = 0;
};

struct Reply {
  int status = 0;
  std::string code;  // the error code, for a refusal
};

// Sends one request on a fresh connection (the body in 1 MiB pieces: a server that refuses
// early may stop reading and close) and reads the reply.
Reply post(std::uint16_t port, const std::string& target, const std::string& content_type, const std::string& body) {
  RawSocket s(port);
  EXPECT_TRUE(s.connected());
  s.send("POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n");
  for (std::size_t at = 0; at < body.size(); at += kMiB)
    if (!s.send(body.substr(at, kMiB))) break;
  const std::string raw = s.read_all(60000);
  Reply r;
  if (raw.rfind("HTTP/1.1 ", 0) == 0) r.status = std::stoi(raw.substr(9, 3));
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end != std::string::npos) {
    json j = json::parse(raw.substr(head_end + 4), nullptr, false);
    if (j.is_object() && j.contains("error")) r.code = j["error"].value("code", "");
  }
  return r;
}

std::string repeat(const std::string& piece, std::size_t n) {
  std::string out;
  out.reserve(piece.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += piece;
  return out;
}

class MemoryBound : public ::testing::Test {
 protected:
  void SetUp() override {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "under a sanitizer RSS measures its shadow memory, not the server's";
#endif
    MemoryConfig c;
    c.key_dim = 4;
    c.value_dim = 3;
    c.index = "Flat";
    mem_ = ts_.srv->database().create_memory("m", c);
    std::vector<float> k{1, 0, 0, 0}, v{1, 2, 3};
    mem_->insert(MatrixView(k, 4), MatrixView(v, 3), {"p"});
  }

  // Sends a request that must be refused with `status`/`code`, within `allowed` bytes of peak
  // RSS rise, leaving the memory as it was.
  void expect_refused(const char* what, const std::string& target, const std::string& type, const std::string& body,
                      int status, const char* code, std::size_t allowed) {
    SCOPED_TRACE(what);
    const MemoryState before = capture(*mem_);
    PeakRss peak;
    peak.start();
    const Reply r = post(ts_.srv->port(), target, type, body);
    const std::size_t rise = peak.rise();
    std::printf("[ memory   ] %-28s body %6.1f MiB  status %d  peak RSS +%6.1f MiB (allowed %6.1f)\n", what,
                body.size() / double(kMiB), r.status, rise / double(kMiB), allowed / double(kMiB));
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.code, code);
    EXPECT_LE(rise, allowed);
    EXPECT_TRUE(capture(*mem_) == before) << "the refused request changed the memory";
  }

  TestServer ts_;
  std::shared_ptr<Memory> mem_;
};

TEST_F(MemoryBound, TwentyTwoMillionEmptyRows) {
  const std::string body = R"({"queries":[)" + repeat("[],", 22'000'000) + "[]]}";
  expect_refused("22M empty rows", "/v1/memories/m/read", "application/json", body, 413, "batch_too_large",
                 3 * body.size() + kConstant);
}

TEST_F(MemoryBound, TwentyTwoMillionEmptyPayloads) {
  const std::string body = R"({"keys":[[1,0,0,0]],"values":[[1,2,3]],"payloads":[)" + repeat(R"("",)", 22'000'000) + R"(""]})";
  expect_refused("22M empty payloads", "/v1/memories/m/slots", "application/json", body, 413, "batch_too_large",
                 3 * body.size() + kConstant);
}

// rows × first-row width was reserved before the rows were seen to disagree: 500 out of memory.
TEST_F(MemoryBound, WideRowThenEmptyRows) {
  for (std::size_t width : {200'000u, 60'000u}) {
    const std::string body =
        R"({"queries":[[)" + repeat("0,", width - 1) + "0]," + repeat("[],", 150'000) + "[]]}";
    expect_refused(width > 65536 ? "200,000-wide row, empty rows" : "60,000-wide row, empty rows",
                   "/v1/memories/m/read", "application/json", body, 422, "invalid_argument",
                   3 * body.size() + kConstant);
  }
}

// An ingest streams: one huge line costs the line limit (1 MiB here), never the line.
TEST_F(MemoryBound, SixtyFourMiBJsonLinesLine) {
  const std::string body = R"({"key":[)" + repeat("0,", 32 * kMiB);
  expect_refused("64 MiB JSON Lines line", "/v1/memories/m/ingest", "application/x-ndjson", body, 413,
                 "payload_too_large", kConstant);
}

// A legitimate batch at the limits: accepted, and the same bound holds with the data stored.
TEST_F(MemoryBound, LargeInsert) {
  constexpr int kDim = 256;
  constexpr std::size_t kRows = 10000;  // the default max_batch
  MemoryConfig c;
  c.key_dim = kDim;
  c.value_dim = kDim;
  c.index = "Flat";
  auto big = ts_.srv->database().create_memory("big", c);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1, 1);
  auto matrix = [&] {
    std::string out = "[";
    char num[32];
    for (std::size_t r = 0; r < kRows; ++r) {
      out += r ? ",[" : "[";
      for (int d = 0; d < kDim; ++d) {
        std::snprintf(num, sizeof num, d ? ",%.7f" : "%.7f", dist(rng));
        out += num;
      }
      out += "]";
    }
    return out + "]";
  };
  const std::string body = R"({"keys":)" + matrix() + R"(,"values":)" + matrix() + "}";
  PeakRss peak;
  peak.start();
  const Reply r = post(ts_.srv->port(), "/v1/memories/big/slots", "application/json", body);
  const std::size_t rise = peak.rise();
  std::printf("[ memory   ] %-28s body %6.1f MiB  status %d  peak RSS +%6.1f MiB (allowed %6.1f)\n",
              "large insert (10000 x 256+256)", body.size() / double(kMiB), r.status, rise / double(kMiB),
              (3 * body.size() + kConstant) / double(kMiB));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(big->count(), kRows);
  EXPECT_LE(rise, 3 * body.size() + kConstant);
}

}  // namespace
}  // namespace engram
