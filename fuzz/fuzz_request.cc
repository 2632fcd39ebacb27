// fuzz_request.cc — the whole JSON API as a plain function (Service::handle) under fuzzed requests,
// against a real database in a temporary folder: the bounded body decoder, the handlers' field
// readers, the router and the core's own checks.
//
// Input: the first line is "METHOD TARGET" ("POST /v1/memories/m/read?encoding=base64"), the rest
// is the body. Besides the sanitizers, a request must never be answered 5xx (that is the server
// failing on client input, like the old 500 "out of memory") and an answer must be JSON.
// Snapshot routes are skipped: they write wherever the body says.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <engram/engram.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "service.h"

namespace {

using engram::server::Request;
using engram::server::Response;
using engram::server::Service;

std::string g_dir;
std::unique_ptr<Service> g_service;

// Memory "m": 4-dimensional keys, 3-dimensional values, ten slots; sync off (fuzzing speed) and
// no value cache, so that no thread outlives an input: the cache's loader thread, still scanning
// when libFuzzer checks for leaks after an input, had its live RocksDB iterator reported leaked.
void reset_memory() {
  engram::Database& db = g_service->database();
  for (const std::string& name : db.list_memories()) db.drop_memory(name);
  engram::MemoryConfig c;
  c.key_dim = 4;
  c.value_dim = 3;
  c.index = "Flat";
  c.sync = false;
  c.cache_values = false;
  auto mem = db.create_memory("m", c);
  std::vector<float> keys(40), values(30);
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = static_cast<float>((i * 7) % 11) / 11.0f;
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  std::vector<std::string> payloads;
  for (int i = 0; i < 10; ++i) payloads.push_back("p" + std::to_string(i));
  mem->insert(engram::MatrixView(keys, 4), engram::MatrixView(values, 3), payloads);
}

void cleanup() {
  g_service.reset();
  std::error_code ec;
  std::filesystem::remove_all(g_dir, ec);
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Whether an accepted request of this kind leaves the database as it was.
bool changes_nothing(const Request& req) {
  const std::string path = req.path();
  return req.method == "GET" || ends_with(path, "/read") || ends_with(path, "/retrieve") ||
         ends_with(path, "/search") || ends_with(path, "/get");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // 5xx are reported below, with the input
  std::string tmpl = (std::filesystem::temp_directory_path() / "engram-fuzz-XXXXXX").string();
  g_dir = mkdtemp(tmpl.data());
  engram::server::ServerOptions options;
  options.data_dir = g_dir;
  options.max_batch = 100;
  options.ingest_chunk_rows = 64;
  g_service = std::make_unique<Service>(engram::Database::open(g_dir), options);
  reset_memory();
  std::atexit(cleanup);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::size_t eol = input.find('\n');
  const std::string head = input.substr(0, eol);
  const std::size_t space = head.find(' ');
  if (eol == std::string::npos || space == std::string::npos) return 0;
  Request req;
  req.method = head.substr(0, space);
  req.target = head.substr(space + 1);
  if (req.target.find("snapshot") != std::string::npos) return 0;
  req.body = input.substr(eol + 1);
  req.content_length = req.body.size();
  // An ingest body that does not start like JSON is sent as binary records.
  const bool ingest = req.target.find("/ingest") != std::string::npos;
  const bool binary = ingest && !req.body.empty() && req.body[0] != '{';
  req.content_type = binary ? "application/octet-stream" : ingest ? "application/x-ndjson" : "application/json";

  const Response res = g_service->handle(req);
  if (res.status >= 500) {
    std::fprintf(stderr, "%s %s -> %d %s\n", req.method.c_str(), req.target.c_str(), res.status, res.body.c_str());
    std::abort();
  }
  if (!res.body.empty() && res.content_type == "application/json" &&
      nlohmann::json::parse(res.body, nullptr, false).is_discarded()) {
    std::fprintf(stderr, "not JSON: %s\n", res.body.c_str());
    std::abort();
  }
  // Every input starts from the same state: what an accepted write changed is undone (a refused
  // request changes nothing).
  if (res.status < 300 && !changes_nothing(req)) reset_memory();
  return 0;
}
