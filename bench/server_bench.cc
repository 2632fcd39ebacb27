// server_bench.cc — engram-bench-server: the memory server over loopback vs the embedded memory.
//
//   engram-bench-server --n 100000 --dim 128 --batch 64 --k 32 --seconds 5 --clients 16
//   engram-bench-server --n 100000 --sections soak --soak-seconds 60 --soak-connections 64
//
// Measures, on one HNSW32 memory (loaded through the embedded API, so loading is not measured),
// with the server in this process on 127.0.0.1 (--sections picks; default all but soak):
//   batch      batch read throughput (queries/s), one caller: embedded vs RemoteMemory (base64,
//              keep-alive) vs raw HTTP with JSON arrays in and out;
//   latency    single-query read latency p50/p99 with --clients concurrent keep-alive clients
//              (and the embedded p50/p99 under the same concurrency, for reference);
//   concurrent --clients keep-alive clients each sending --batch-query reads: queries/s, p50/p99;
//   soak       --soak-connections keep-alive clients for --soak-seconds: reads of --soak-batch
//              queries, a share of single-row inserts (--soak-insert-share) and gated writes
//              (--soak-write-share); per --soak-window seconds: requests, errors, p50/p99 and the
//              process's VmRSS (server and clients share this process; the clients' part is a
//              fixed few MB). It stops by itself; errors must be 0.
//   ingest     bulk load of --ingest-rows records (keys and values of --dim, no payloads) into a
//              fresh Flat memory: the embedded pipeline (ingest::ingest over the same bytes in
//              memory) vs POST …/ingest over loopback with binary records and with JSON Lines
//              (base64 vectors); rows/s of each and their ratios. With only this section the
//              HNSW32 memory of the others is not loaded.
// --omp-threads N sets ServerOptions::omp_threads (OpenMP threads per request thread; -1 keeps
// the server's default); OMP_NUM_THREADS sets what the embedded side uses. --omp-sweep 0,1,0,1
// reruns `concurrent` under each value (restarting the server from its checkpoint each time);
// the soak then runs under the last one.
// Prints a readable table and one JSON line per measurement.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <engram/engram.h>
#include <engram/remote_memory.h>
#include <engram/server.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "codec/base64.h"
#include "http_client.h"
#include "ingest/pipeline.h"
#include "ingest/stream_source.h"

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
  int omp_threads = -1;  // -1: the server's default
  std::set<std::string> sections = {"batch", "latency", "concurrent"};
  std::vector<int> omp_sweep;  // concurrent: rerun under each of these omp_threads values
  double soak_seconds = 60;
  int soak_connections = 64;
  double soak_window = 10;
  int soak_batch = 1;
  double soak_insert_share = 0.02;
  double soak_write_share = 0.08;
  std::size_t ingest_rows = 200000;
};

std::vector<std::string> split(const std::string& s, bool) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}
std::set<std::string> split(const std::string& s) {
  auto v = split(s, false);
  return {v.begin(), v.end()};
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--sections") {
      a.sections = split(argv[i + 1]);
      continue;
    }
    if (f == "--omp-sweep") {
      for (const std::string& v : split(argv[i + 1], false)) a.omp_sweep.push_back(std::atoi(v.c_str()));
      continue;
    }
    double v = std::atof(argv[i + 1]);
    if (f == "--n") a.n = static_cast<std::size_t>(v);
    else if (f == "--dim") a.dim = static_cast<int>(v);
    else if (f == "--batch") a.batch = static_cast<int>(v);
    else if (f == "--k") a.k = static_cast<int>(v);
    else if (f == "--seconds") a.seconds = v;
    else if (f == "--clients") a.clients = static_cast<int>(v);
    else if (f == "--threads") a.threads = static_cast<int>(v);
    else if (f == "--omp-threads") a.omp_threads = static_cast<int>(v);
    else if (f == "--soak-seconds") a.soak_seconds = v;
    else if (f == "--soak-connections") a.soak_connections = static_cast<int>(v);
    else if (f == "--soak-window") a.soak_window = v;
    else if (f == "--soak-batch") a.soak_batch = static_cast<int>(v);
    else if (f == "--soak-insert-share") a.soak_insert_share = v;
    else if (f == "--soak-write-share") a.soak_write_share = v;
    else if (f == "--ingest-rows") a.ingest_rows = static_cast<std::size_t>(v);
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

// Like latency(), plus calls per second over all clients.
struct Load {
  double calls_per_s = 0, p50_us = 0, p99_us = 0;
};
template <class MakeOp>
Load load(int clients, double seconds, MakeOp&& make_op) {
  std::atomic<std::size_t> calls{0};
  auto start = Clock::now();
  auto [p50, p99] = latency(clients, seconds, [&](int c) {
    auto op = make_op(c);
    return [op, &calls]() mutable {
      op();
      calls.fetch_add(1, std::memory_order_relaxed);
    };
  });
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return {calls / elapsed, p50, p99};
}

double percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(v.size() * q))];
}

// This process's resident memory (VmRSS), MiB.
double rss_mib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  return 0;
}

// The soak: `connections` keep-alive clients (one RemoteMemory and one connection each) send a
// mix of reads, single-row inserts and gated writes for `seconds`, and the figures are kept per
// window of `window` seconds (a request counts in the window in which it finished).
void soak(const Args& a, const engram::RemoteOptions& ro, engram::Memory& mem, int omp_threads) {
  const int windows = std::max(1, static_cast<int>(a.soak_seconds / a.soak_window + 0.5));
  struct Window {
    std::vector<double> read_us, write_us;
    std::size_t reads = 0, inserts = 0, writes = 0, errors = 0;
  };
  struct PerClient {
    std::vector<Window> w;
    std::string first_error;
  };
  std::vector<PerClient> per(a.soak_connections);
  for (auto& p : per) p.w.resize(windows);
  std::vector<double> rss(windows, 0), rss_start(1, rss_mib());
  std::vector<std::size_t> slots(windows, 0);
  std::atomic<bool> go{true};
  std::atomic<int> ready{0};

  std::vector<std::thread> threads;
  Clock::time_point start;
  std::atomic<bool> started{false};
  for (int c = 0; c < a.soak_connections; ++c) {
    threads.emplace_back([&, c] {
      engram::RemoteOptions o = ro;
      o.max_idle_connections = 1;
      engram::RemoteMemory m(o, "bench");  // connects (GET the config) before the clock starts
      std::mt19937 rng(7000 + c);
      std::uniform_real_distribution<double> coin(0, 1);
      auto q = random_matrix(64 * a.soak_batch, a.dim, 9000 + c);  // 64 different query sets
      auto v = random_matrix(1, a.dim, 11000 + c);
      ++ready;
      while (!started) std::this_thread::yield();
      PerClient& me = per[c];
      for (std::size_t i = 0; go; ++i) {
        const double r = coin(rng);
        const float* qs = q.data() + (i % 64) * a.soak_batch * a.dim;
        auto t0 = Clock::now();
        int kind = r < a.soak_insert_share ? 1 : r < a.soak_insert_share + a.soak_write_share ? 2 : 0;
        bool ok = true;
        try {
          if (kind == 0) {
            auto res = m.read(engram::MatrixView(qs, a.soak_batch, a.dim), {.k = a.k});
            ok = res.ids.size() == static_cast<std::size_t>(a.soak_batch * a.k);
          } else if (kind == 1) {
            auto ids = m.insert(engram::MatrixView(qs, 1, a.dim), engram::MatrixView(v.data(), 1, a.dim));
            ok = ids.size() == 1;
          } else {
            auto res = m.write(engram::MatrixView(qs, 1, a.dim), engram::MatrixView(v.data(), 1, a.dim), 8);
            ok = res.ids.size() == 8;
          }
          if (!ok && me.first_error.empty()) me.first_error = "wrong result shape";
        } catch (const std::exception& e) {
          ok = false;
          if (me.first_error.empty()) me.first_error = e.what();
        }
        auto t1 = Clock::now();
        int wi = static_cast<int>(std::chrono::duration<double>(t1 - start).count() / a.soak_window);
        if (wi >= windows) break;  // finished after the end: not counted
        Window& w = me.w[wi];
        double us = std::chrono::duration<double, std::micro>(t1 - t0).count();
        if (!ok) ++w.errors;
        if (kind == 0) ++w.reads, w.read_us.push_back(us);
        else (kind == 1 ? ++w.inserts : ++w.writes), w.write_us.push_back(us);
      }
    });
  }
  while (ready < a.soak_connections) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  rss_start[0] = rss_mib();
  start = Clock::now();
  started = true;
  for (int wi = 0; wi < windows; ++wi) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>((wi + 1) * a.soak_window)));
    rss[wi] = rss_mib();
    slots[wi] = mem.stats().slots;
  }
  go = false;
  for (auto& t : threads) t.join();

  std::fprintf(stderr,
               "\nsoak: %d keep-alive connections, %.0f s, reads of %d quer%s (k=%d, base64), %.0f%% inserts "
               "(1 row), %.0f%% gated writes (1 query, k=8); server omp_threads %d; RSS before the load %.0f MiB\n",
               a.soak_connections, windows * a.soak_window, a.soak_batch, a.soak_batch == 1 ? "y" : "ies", a.k,
               a.soak_insert_share * 100, a.soak_write_share * 100, omp_threads, rss_start[0]);
  std::fprintf(stderr, "  window     requests    req/s  errors  read p50 ms  read p99 ms  write p50 ms  write p99 ms  "
                       "RSS MiB    slots\n");
  std::size_t all_requests = 0, all_errors = 0;
  std::string first_error;
  for (auto& p : per)
    if (first_error.empty()) first_error = p.first_error;
  for (int wi = 0; wi < windows; ++wi) {
    Window sum;
    for (auto& p : per) {
      Window& w = p.w[wi];
      sum.reads += w.reads, sum.inserts += w.inserts, sum.writes += w.writes, sum.errors += w.errors;
      sum.read_us.insert(sum.read_us.end(), w.read_us.begin(), w.read_us.end());
      sum.write_us.insert(sum.write_us.end(), w.write_us.begin(), w.write_us.end());
    }
    const std::size_t requests = sum.reads + sum.inserts + sum.writes;
    all_requests += requests, all_errors += sum.errors;
    double r50 = percentile(sum.read_us, 0.5), r99 = percentile(sum.read_us, 0.99);
    double w50 = percentile(sum.write_us, 0.5), w99 = percentile(sum.write_us, 0.99);
    std::fprintf(stderr, "  %3.0f-%3.0f s %8zu %8.0f %7zu %12.2f %12.2f %13.2f %13.2f %8.0f %8zu\n",
                 wi * a.soak_window, (wi + 1) * a.soak_window, requests, requests / a.soak_window, sum.errors,
                 r50 / 1000, r99 / 1000, w50 / 1000, w99 / 1000, rss[wi], slots[wi]);
    report("soak_window", {{"window", wi}, {"t_end_s", (wi + 1) * a.soak_window}, {"requests", requests},
                           {"reads", sum.reads}, {"inserts", sum.inserts}, {"writes", sum.writes},
                           {"errors", sum.errors}, {"read_p50_us", r50}, {"read_p99_us", r99},
                           {"write_p50_us", w50}, {"write_p99_us", w99}, {"rss_mib", rss[wi]},
                           {"slots", slots[wi]}});
  }
  std::fprintf(stderr, "  total %zu requests, %zu errors%s%s\n", all_requests, all_errors,
               first_error.empty() ? "" : "; first: ", first_error.c_str());
  report("soak", {{"connections", a.soak_connections}, {"seconds", windows * a.soak_window},
                  {"soak_batch", a.soak_batch}, {"k", a.k}, {"insert_share", a.soak_insert_share},
                  {"write_share", a.soak_write_share}, {"omp_threads", omp_threads}, {"requests", all_requests}, {"errors", all_errors},
                  {"rss_before_mib", rss_start[0]}});
}

}  // namespace

// Bulk load: the same records through the embedded pipeline and through POST …/ingest.
void ingest_section(engram::server::Server& server, const Args& a) {
  const std::size_t n = a.ingest_rows, d = static_cast<std::size_t>(a.dim);
  const auto keys = random_matrix(n, d, 777), values = random_matrix(n, d, 778);
  std::string binary, jsonl;
  binary.reserve(n * (2 * d * sizeof(float) + 4));
  const std::uint32_t no_payload = 0;
  for (std::size_t i = 0; i < n; ++i) {
    binary.append(reinterpret_cast<const char*>(&keys[i * d]), d * sizeof(float));
    binary.append(reinterpret_cast<const char*>(&values[i * d]), d * sizeof(float));
    binary.append(reinterpret_cast<const char*>(&no_payload), sizeof no_payload);
    jsonl += "{\"key_b64\":\"" + engram::floats_to_base64(&keys[i * d], d) + "\",\"value_b64\":\"" +
             engram::floats_to_base64(&values[i * d], d) + "\"}\n";
  }
  engram::MemoryConfig cfg;
  cfg.key_dim = a.dim;
  cfg.value_dim = a.dim;
  cfg.index = "Flat";
  auto fresh = [&](const std::string& name) { return server.database().create_memory(name, cfg); };
  auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };

  auto mem = fresh("ingest_embedded");
  std::istringstream in(binary);
  auto source = engram::ingest::open_stream(in, engram::ingest::StreamFormat::kBinary, d, d, binary.size(), "bytes");
  engram::ingest::IngestOptions o;
  o.progress = engram::ingest::Progress::Mode::kQuiet;
  auto t = Clock::now();
  engram::ingest::ingest(server.database(), mem, *source, o);
  const double embedded_s = seconds_since(t);

  engram::RemoteOptions ro;
  ro.port = server.port();
  ro.request_timeout = std::chrono::milliseconds(3600 * 1000);
  engram::detail::HttpClient http(ro);
  auto post = [&](const std::string& name, const std::string& body, const char* type) {
    fresh(name);
    const auto start = Clock::now();
    auto res = http.request("POST", "/v1/memories/" + name + "/ingest", body, type);
    const double s = seconds_since(start);
    if (res.status != 200 || json::parse(res.body)["inserted"] != n) {
      std::fprintf(stderr, "ingest over HTTP failed: %d %s\n", res.status, res.body.substr(0, 300).c_str());
      std::exit(1);
    }
    return s;
  };
  const double binary_s = post("ingest_http_binary", binary, "application/octet-stream");
  const double jsonl_s = post("ingest_http_jsonl", jsonl, "application/x-ndjson");
  std::fprintf(stderr, "\ningest of %zu records (dim %d keys and values, Flat), durable and searchable (rows/s):\n", n, a.dim);
  std::fprintf(stderr, "  embedded pipeline        %10.0f\n", n / embedded_s);
  std::fprintf(stderr, "  HTTP binary records      %10.0f  (%.2fx embedded; %.0f MB body)\n", n / binary_s,
               embedded_s / binary_s, binary.size() / 1e6);
  std::fprintf(stderr, "  HTTP JSON Lines, base64  %10.0f  (%.2fx embedded; %.0f MB body)\n", n / jsonl_s,
               embedded_s / jsonl_s, jsonl.size() / 1e6);
  report("ingest", {{"rows", n}, {"dim", a.dim}, {"embedded_rows_per_s", n / embedded_s},
                    {"http_binary_rows_per_s", n / binary_s}, {"http_jsonl_b64_rows_per_s", n / jsonl_s},
                    {"http_binary_vs_embedded", embedded_s / binary_s},
                    {"http_jsonl_vs_embedded", embedded_s / jsonl_s}});
}

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  spdlog::set_level(spdlog::level::warn);
  auto dir = std::filesystem::temp_directory_path() / ("engram-bench-server-" + std::to_string(::getpid()));

  engram::server::ServerOptions opt;
  opt.data_dir = dir.string();
  opt.port = 0;
  opt.threads = a.threads;
  if (a.omp_threads >= 0) opt.omp_threads = a.omp_threads;
  auto server = std::make_unique<engram::server::Server>(opt);

  engram::MemoryConfig cfg;
  cfg.key_dim = a.dim;
  cfg.value_dim = a.dim;
  cfg.index = "HNSW32";
  cfg.sync = false;
  if (a.sections.count("ingest")) ingest_section(*server, a);
  if (a.sections.size() == a.sections.count("ingest")) {
    server.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return 0;
  }
  auto mem = server->database().create_memory("bench", cfg);
  const auto load_start = Clock::now();
  for (std::size_t done = 0; done < a.n;) {
    std::size_t rows = std::min<std::size_t>(10000, a.n - done);
    auto keys = random_matrix(rows, a.dim, static_cast<unsigned>(done + 1));
    mem->insert(engram::MatrixView(keys.data(), rows, a.dim), engram::MatrixView(keys.data(), rows, a.dim));
    done += rows;
  }
  std::fprintf(stderr, "loaded %zu slots of dim %d (HNSW32) in %.0f s; server on 127.0.0.1:%u, %d threads, "
               "omp_threads %d\n", a.n, a.dim, std::chrono::duration<double>(Clock::now() - load_start).count(),
               server->port(), server->options().threads, server->options().omp_threads);

  engram::RemoteOptions ro;
  ro.port = server->port();
  engram::RemoteDatabase rdb(ro);
  auto remote = rdb.memory("bench");
  auto queries = random_matrix(a.batch, a.dim, 4242);
  engram::MatrixView qv(queries.data(), a.batch, a.dim);

  // 1. Batch throughput, one caller.
  if (a.sections.count("batch")) {
    double embedded = rate(a.seconds, [&] { mem->read(qv, {.k = a.k}); }) * a.batch;
    double b64 = rate(a.seconds, [&] { remote->read(qv, {.k = a.k}); }) * a.batch;
    engram::detail::HttpClient raw(ro);
    json qjson = json::array();
    for (int r = 0; r < a.batch; ++r)
      qjson.push_back(std::vector<float>(queries.begin() + r * a.dim, queries.begin() + (r + 1) * a.dim));
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
    std::fprintf(stderr, "  remote JSON arrays       %10.0f  (%.2fx embedded, %.2fx base64)\n", plain,
                 plain / embedded, plain / b64);
    report("batch_read", {{"n", a.n}, {"dim", a.dim}, {"batch", a.batch}, {"k", a.k},
                          {"embedded_qps", embedded}, {"remote_base64_qps", b64}, {"remote_json_qps", plain},
                          {"remote_vs_embedded", b64 / embedded}, {"json_vs_base64", plain / b64}});
  }

  // 2. Single-query latency under concurrency.
  if (a.sections.count("latency")) {
    auto [rp50, rp99] = latency(a.clients, a.seconds, [&](int c) {
      auto m = std::make_shared<engram::RemoteMemory>(ro, "bench");
      auto q = std::make_shared<std::vector<float>>(random_matrix(1, a.dim, 100 + c));
      return [m, q, &a] { m->read(engram::MatrixView(q->data(), 1, a.dim), {.k = a.k}); };
    });
    auto [ep50, ep99] = latency(a.clients, a.seconds, [&](int c) {
      auto q = std::make_shared<std::vector<float>>(random_matrix(1, a.dim, 100 + c));
      return [&mem, q, &a] { mem->read(engram::MatrixView(q->data(), 1, a.dim), {.k = a.k}); };
    });
    std::fprintf(stderr, "\nsingle-query read, k=%d, %d concurrent clients (microseconds):\n", a.k, a.clients);
    std::fprintf(stderr, "  remote   p50 %8.0f  p99 %8.0f\n", rp50, rp99);
    std::fprintf(stderr, "  embedded p50 %8.0f  p99 %8.0f\n", ep50, ep99);
    report("single_read_latency", {{"clients", a.clients}, {"k", a.k}, {"remote_p50_us", rp50},
                                   {"remote_p99_us", rp99}, {"embedded_p50_us", ep50}, {"embedded_p99_us", ep99}});
  }

  // 3. Throughput and latency under concurrency: single queries and batches, remote only.
  auto concurrent = [&] {
    auto remote_load = [&](int rows, int clients) {
      return load(clients, a.seconds, [&, rows](int c) {
        auto m = std::make_shared<engram::RemoteMemory>(ro, "bench");
        auto q = std::make_shared<std::vector<float>>(random_matrix(rows, a.dim, 300 + c));
        return [m, q, rows, &a] { m->read(engram::MatrixView(q->data(), rows, a.dim), {.k = a.k}); };
      });
    };
    Load single = remote_load(1, a.clients);
    Load batched = remote_load(a.batch, a.clients);
    Load lone = remote_load(a.batch, 1);
    std::fprintf(stderr, "\nremote reads under load, k=%d, %d concurrent keep-alive clients, %d server threads, "
                         "omp_threads %d:\n", a.k, a.clients, server->options().threads, server->options().omp_threads);
    std::fprintf(stderr, "  1 query a request:   %8.0f queries/s  p50 %7.2f ms  p99 %7.2f ms\n", single.calls_per_s,
                 single.p50_us / 1000, single.p99_us / 1000);
    std::fprintf(stderr, "  %d queries a request: %7.0f queries/s  p50 %7.2f ms  p99 %7.2f ms\n", a.batch,
                 batched.calls_per_s * a.batch, batched.p50_us / 1000, batched.p99_us / 1000);
    std::fprintf(stderr, "  %d queries, 1 client: %7.0f queries/s  p50 %7.2f ms  p99 %7.2f ms\n", a.batch,
                 lone.calls_per_s * a.batch, lone.p50_us / 1000, lone.p99_us / 1000);
    report("concurrent_read", {{"clients", a.clients}, {"k", a.k}, {"server_threads", server->options().threads},
                               {"omp_threads", server->options().omp_threads},
                               {"single_qps", single.calls_per_s}, {"single_p50_us", single.p50_us},
                               {"single_p99_us", single.p99_us}, {"batch", a.batch},
                               {"batch_qps", batched.calls_per_s * a.batch}, {"batch_p50_us", batched.p50_us},
                               {"batch_p99_us", batched.p99_us}, {"lone_batch_qps", lone.calls_per_s * a.batch},
                               {"lone_batch_p50_us", lone.p50_us}, {"lone_batch_p99_us", lone.p99_us}});
  };
  // The server is restarted (closed, reopened from its checkpoint) to change omp_threads.
  auto restart = [&](int omp_threads) {
    remote.reset();
    mem.reset();
    server.reset();
    opt.omp_threads = omp_threads;
    server = std::make_unique<engram::server::Server>(opt);
    mem = server->database().memory("bench");
    ro.port = server->port();
    std::this_thread::sleep_for(std::chrono::seconds(2));  // the value cache loads in the background
  };
  if (a.sections.count("concurrent")) {
    if (a.omp_sweep.empty()) {
      concurrent();
    } else {
      for (int v : a.omp_sweep) {  // the server keeps the last value (for the soak)
        restart(v);
        concurrent();
      }
    }
  }

  // 4. The soak.
  if (a.sections.count("soak")) soak(a, ro, *mem, server->options().omp_threads);

  remote.reset();
  mem.reset();
  server.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
