// ingest_e2e_test.cc — POST …/ingest over a real socket: a body far larger than the server's
// buffers streams through (chunked transfer encoding, backpressure), and the ways an upload can
// fail half-way — the client vanishing, the body outgrowing its limit — leave the memory as it
// was. (The server shutting down mid-upload: transport_test.cc.)
#include <gtest/gtest.h>

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

constexpr std::size_t kDim = 32;

std::string rows(std::size_t first, std::size_t n) { return e2e::binary_rows(first, n, kDim); }

std::shared_ptr<Memory> make_memory(server::Server& srv) { return e2e::make_ingest_memory(srv, kDim); }

// No interrupted job is left behind: a loader that refuses pending jobs can be made.
void expect_no_pending_job(Database& db, const std::shared_ptr<Memory>& mem) {
  EXPECT_NO_THROW(BulkLoader(db, mem, /*resume=*/false));
}

TEST(IngestE2E, LargeUploadStreamsThroughBoundedBuffers) {
  server::ServerOptions o;
  o.max_body_bytes = 64 << 10;  // ordinary bodies: 64 KiB; the upload is ~27 MB
  o.ingest_chunk_rows = 8192;
  TestServer ts(o);
  auto mem = make_memory(*ts.srv);
  constexpr std::size_t kRows = 100000;
  RawSocket s(ts.srv->port());
  ASSERT_TRUE(s.connected());
  ASSERT_TRUE(s.send(upload_header("/v1/memories/m/ingest")));
  for (std::size_t first = 0; first < kRows; first += 2000) ASSERT_TRUE(s.send(chunk(rows(first, 2000))));
  ASSERT_TRUE(s.send("0\r\n\r\n"));
  const std::string response = s.read_all(120000);
  ASSERT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response.substr(0, 400);
  json j = json::parse(response.substr(response.find("\r\n\r\n") + 4));
  EXPECT_EQ(j["inserted"], kRows);
  ASSERT_EQ(mem->count(), kRows);
  // Spot checks: record i is slot i, with its value and payload, and searchable.
  for (std::size_t i : {std::size_t{0}, std::size_t{54321}, kRows - 1}) {
    Slot slot = mem->get({static_cast<SlotId>(i)}).front();
    EXPECT_EQ(slot.value[0], static_cast<float>(i));
    EXPECT_EQ(slot.payload, "r" + std::to_string(i));
  }
  expect_no_pending_job(ts.srv->database(), mem);
}

TEST(IngestE2E, ClientVanishingMidUploadLeavesNothing) {
  server::ServerOptions o;
  o.ingest_chunk_rows = 1000;
  TestServer ts(o);
  auto mem = make_memory(*ts.srv);
  {
    RawSocket s(ts.srv->port());
    ASSERT_TRUE(s.send(upload_header("/v1/memories/m/ingest")));
    for (std::size_t first = 0; first < 5000; first += 500) ASSERT_TRUE(s.send(chunk(rows(first, 500))));
    // Some chunks are committed and visible while the upload runs...
    ASSERT_TRUE(wait_until([&] { return mem->count() >= 1000; }, 30000));
    s.close();  // ...then the client dies without finishing the body.
  }
  EXPECT_TRUE(wait_until([&] { return mem->count() == 0; }, 30000)) << mem->count() << " slots left";
  // The claim on the memory is released too: a new upload goes through.
  ASSERT_TRUE(wait_until([&] {
    RawSocket s(ts.srv->port());
    s.send(upload_header("/v1/memories/m/ingest") + chunk(rows(0, 10)) + "0\r\n\r\n");
    return s.read_all(10000).rfind("HTTP/1.1 200", 0) == 0;
  }, 10000));
  EXPECT_EQ(mem->count(), 10u);
  expect_no_pending_job(ts.srv->database(), mem);
}

TEST(IngestE2E, UploadOverTheIngestLimitIs413AndUndone) {
  server::ServerOptions o;
  o.max_ingest_bytes = 200 << 10;
  o.ingest_chunk_rows = 100;
  TestServer ts(o);
  auto mem = make_memory(*ts.srv);
  RawSocket s(ts.srv->port());
  ASSERT_TRUE(s.send(upload_header("/v1/memories/m/ingest")));
  // ~1 MB in chunks; the server refuses once 200 KiB have arrived and may close before the end.
  for (std::size_t first = 0; first < 4000; first += 200) {
    if (!s.send(chunk(rows(first, 200)))) break;
  }
  const std::string response = s.read_all(30000);
  EXPECT_EQ(response.rfind("HTTP/1.1 413", 0), 0u) << response.substr(0, 400);
  EXPECT_NE(response.find("payload_too_large"), std::string::npos);
  EXPECT_TRUE(wait_until([&] { return mem->count() == 0; }, 10000));
  expect_no_pending_job(ts.srv->database(), mem);
}

}  // namespace
}  // namespace engram
