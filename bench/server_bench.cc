// server_bench.cc — engram-bench-server: the memory server over loopback vs the embedded memory.
//
//   engram-bench-server --n 100000 --dim 128 --batch 64 --k 32 --seconds 5 --clients 16
//
// Measures, on one HNSW32 memory (loaded through the embedded API, so loading is not measured):
//   1. batch read throughput (queries/s), one caller: embedded vs RemoteMemory (base64,
//      keep-alive) vs raw HTTP with JSON arrays in and out;
//   2. single-query read latency p50/p99 with --clients concurrent keep-alive clients (and the
//      embedded p50/p99 under the same concurrency, for reference).
// Prints a readable table and one JSON line per measurement.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <engram/engram.h>
#include <engram/remote_memory.h>
#include <engram/server.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "http_client.h"

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Args {
  std::size_t n = 100000;
  int dim = 128;
  int batch = 64;
  int k = 32;
  double seconds = 5;
  int clients = 16;
  int threads = 0;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    double v = std::atof(argv[i + 1]);
    if (f == "--n") a.n = static_cast<std::size_t>(v);
    else if (f == "--dim") a.dim = static_cast<int>(v);
    else if (f == "--batch") a.batch = static_cast<int>(v);
    else if (f == "--k") a.k = static_cast<int>(v);
    else if (f == "--seconds") a.seconds = v;
    else if (f == "--clients") a.clients = static_cast<int>(v);
    else if (f == "--threads") a.threads = static_cast<int>(v);
    else {
      std::fprintf(stderr, "unknown flag %s\n", f.c_str());
      std::exit(2);
    }
  }
  return a;
}

std::vector<float> random_matrix(std::size_t rows, std::size_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(rows * cols);
  for (float& x : v) x = dist(rng);
  return v;
}

// Calls `op` until `seconds` pass; returns calls per second.
template <class Op>
double rate(double seconds, Op&& op) {
  op();  // warm up (connections, caches)
  auto start = Clock::now();
  std::size_t calls = 0;
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    op();
    ++calls;
  }
  return calls / std::chrono::duration<double>(Clock::now() - start).count();
}

void report(const char* name, const json& fields) {
  json j = fields;
  j["bench"] = name;
  std::printf("%s\n", j.dump().c_str());
}

// Per-call latencies from `clients` threads, each with its own memory handle.
template <class MakeOp>
std::pair<double, double> latency(int clients, double seconds, MakeOp&& make_op) {
  std::vector<std::vector<double>> per(clients);
  std::vector<std::thread> threads;
  std::atomic<bool> go{true};
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto op = make_op(c);
      op();
      while (go) {
        auto t0 = Clock::now();
        op();
        per[c].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  go = false;
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& v : per) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  if (all.empty()) return {0, 0};
  return {all[all.size() / 2], all[std::min(all.size() - 1, all.size() * 99 / 100)]};
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  spdlog::set_level(spdlog::level::warn);
  auto dir = std::filesystem::temp_directory_path() / ("engram-bench-server-" + std::to_string(::getpid()));

  engram::server::ServerOptions opt;
  opt.data_dir = dir.string();
  opt.port = 0;
  opt.threads = a.threads;
  auto server = std::make_unique<engram::server::Server>(opt);

  engram::MemoryConfig cfg;
  cfg.key_dim = a.dim;
  cfg.value_dim = a.dim;
  cfg.index = "HNSW32";
  cfg.sync = false;
  auto mem = server->database().create_memory("bench", cfg);
  for (std::size_t done = 0; done < a.n;) {
    std::size_t rows = std::min<std::size_t>(10000, a.n - done);
    auto keys = random_matrix(rows, a.dim, static_cast<unsigned>(done + 1));
    mem->insert(engram::MatrixView(keys.data(), rows, a.dim), engram::MatrixView(keys.data(), rows, a.dim));
    done += rows;
  }
  std::fprintf(stderr, "loaded %zu slots of dim %d (HNSW32); server on 127.0.0.1:%u\n", a.n, a.dim,
               server->port());

  engram::RemoteOptions ro;
  ro.port = server->port();
  engram::RemoteDatabase rdb(ro);
  auto remote = rdb.memory("bench");
  auto queries = random_matrix(a.batch, a.dim, 4242);
  engram::MatrixView qv(queries.data(), a.batch, a.dim);

  // 1. Batch throughput, one caller.
  double embedded = rate(a.seconds, [&] { mem->read(qv, a.k); }) * a.batch;
  double b64 = rate(a.seconds, [&] { remote->read(qv, a.k); }) * a.batch;
  engram::detail::HttpClient raw(ro);
  json qjson = json::array();
  for (int r = 0; r < a.batch; ++r) qjson.push_back(std::vector<float>(queries.begin() + r * a.dim, queries.begin() + (r + 1) * a.dim));
  double plain = rate(a.seconds, [&] {
                   json body = {{"queries", qjson}, {"k", a.k}};
                   auto res = raw.request("POST", "/v1/memories/bench/read", body.dump());
                   json out = json::parse(res.body);
                   auto reads = out["reads"].get<std::vector<std::vector<float>>>();
                   auto ids = out["ids"].get<std::vector<std::vector<long long>>>();
                   if (res.status != 200 || reads.size() != static_cast<std::size_t>(a.batch)) std::abort();
                 }) * a.batch;
  std::fprintf(stderr, "\nbatch read, %d queries x k=%d, dim %d, one caller (queries/s):\n", a.batch, a.k, a.dim);
  std::fprintf(stderr, "  embedded                 %10.0f\n", embedded);
  std::fprintf(stderr, "  remote base64 keep-alive %10.0f  (%.2fx embedded)\n", b64, b64 / embedded);
  std::fprintf(stderr, "  remote JSON arrays       %10.0f  (%.2fx embedded, %.2fx base64)\n", plain, plain / embedded, plain / b64);
  report("batch_read", {{"n", a.n}, {"dim", a.dim}, {"batch", a.batch}, {"k", a.k},
                        {"embedded_qps", embedded}, {"remote_base64_qps", b64}, {"remote_json_qps", plain},
                        {"remote_vs_embedded", b64 / embedded}});

  // 2. Single-query latency under concurrency.
  auto [rp50, rp99] = latency(a.clients, a.seconds, [&](int c) {
    auto m = std::make_shared<engram::RemoteMemory>(ro, "bench");
    auto q = std::make_shared<std::vector<float>>(random_matrix(1, a.dim, 100 + c));
    return [m, q, &a] { m->read(engram::MatrixView(q->data(), 1, a.dim), a.k); };
  });
  auto [ep50, ep99] = latency(a.clients, a.seconds, [&](int c) {
    auto q = std::make_shared<std::vector<float>>(random_matrix(1, a.dim, 100 + c));
    return [&mem, q, &a] { mem->read(engram::MatrixView(q->data(), 1, a.dim), a.k); };
  });
  std::fprintf(stderr, "\nsingle-query read, k=%d, %d concurrent clients (microseconds):\n", a.k, a.clients);
  std::fprintf(stderr, "  remote   p50 %8.0f  p99 %8.0f\n", rp50, rp99);
  std::fprintf(stderr, "  embedded p50 %8.0f  p99 %8.0f\n", ep50, ep99);
  report("single_read_latency", {{"clients", a.clients}, {"k", a.k}, {"remote_p50_us", rp50}, {"remote_p99_us", rp99},
                                 {"embedded_p50_us", ep50}, {"embedded_p99_us", ep99}});

  remote.reset();
  mem.reset();
  server.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
