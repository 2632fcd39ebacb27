// engram-bench filter — filtered search (issue #12): recall@k against a brute-force search of the
// matching slots, and latency against an unfiltered search and against an exact scan of the
// matching keys, at selectivities 50 %, 10 %, 1 % and 0.1 %, for each index.
//
//   engram-bench filter --n 1000000 --index "Flat;HNSWlib32;IVF1024,Flat" --out filter.jsonl
//
// Each slot has three payload fields: "bucket" (0..999, so `bucket < 500` accepts 50 %),
// "source" (one of four words) and "year", all three in the memory's payload index (unless
// --no-payload-index: then every filtered call reads the payloads). A measurement is one search
// call of --queries queries (the batch, as the LM and the server send them) and one call of a
// single query (the p50 over --single queries): a filtered call finds its matching slots once
// per call. Then (unless --no-upsert), on a Flat memory each: --n slots inserted with insert()
// and the same with upsert() by external ids (a first load: every id new), their batches
// interleaved; then the upsert once more (every id replaced).
#include <omp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <faiss/IndexFlat.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <engram/engram.h>

#include "bench/common.h"
#include "bench/data.h"
#include "index/exact_search.h"

namespace engram::bench {
namespace {

namespace fs = std::filesystem;

std::size_t bucket_of(std::size_t i) { return (i * 2654435761u) % 1000; }

std::string payload_of(std::size_t i) {
  static const char* sources[] = {"wiki", "news", "books", "web"};
  return R"({"bucket":)" + std::to_string(bucket_of(i)) + R"(,"source":")" + sources[i % 4] +
         R"(","year":)" + std::to_string(1990 + i % 35) + "}";
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  for (std::size_t end; (end = s.find(sep, begin)) != std::string::npos; begin = end + 1) out.push_back(s.substr(begin, end - begin));
  out.push_back(s.substr(begin));
  return out;
}

}  // namespace

int run_filter(Args& args) {
  const std::size_t n = static_cast<std::size_t>(args.num("n", 1000000));
  const std::size_t nq = static_cast<std::size_t>(args.num("queries", 100));
  const std::size_t single = static_cast<std::size_t>(args.num("single", 20));
  const int dim = static_cast<int>(args.num("dim", 128));
  const int k = static_cast<int>(args.num("k", 10));
  std::vector<std::string> indexes = split(args.str("index", "Flat;HNSW32;IVF1024,Flat"), ';');
  indexes.erase(std::remove(indexes.begin(), indexes.end(), std::string()), indexes.end());  // --index "": upsert only
  const std::vector<std::string> selectivities = args.list("buckets", "500,100,10,1");
  const std::size_t exact_max = static_cast<std::size_t>(args.num("exact-scan-max", DatabaseOptions().filter_exact_scan_max));
  const std::string dir = args.str("dir", (fs::temp_directory_path() / ("engram-bench-filter-" + std::to_string(::getpid()))).string());
  const std::string out = args.str("out", "");
  const int threads = static_cast<int>(args.num("threads", 0));
  const bool keep = args.flag("keep");
  const bool payload_index = !args.flag("no-payload-index");
  const bool upsert_section = !args.flag("no-upsert");
  args.check_all_used();
  if (threads > 0) omp_set_num_threads(threads);
  spdlog::set_level(spdlog::level::warn);

  Reporter rep("filter", out, {{"n", n}, {"dim", dim}, {"k", k}, {"queries", nq}});
  nlohmann::ordered_json m = machine_info();
  m["what"] = "machine";
  rep.info(m);

  const Mixture mix(dim, 1000, 0.12f, 42);
  const std::vector<float> keys = mix.sample(n, 1), queries = mix.sample(nq, 2);
  const std::vector<float> values(n, 0.0f);
  std::vector<std::string> payloads(n);
  for (std::size_t i = 0; i < n; ++i) payloads[i] = payload_of(i);

  DatabaseOptions options;
  options.filter_exact_scan_max = exact_max;
  options.checkpoint_every_ops = options.checkpoint_every_slots = 0;
  options.checkpoint_interval_s = 0;
  fs::remove_all(dir);
  auto db = Database::open(dir, options);
  for (const std::string& factory : indexes) {
    MemoryConfig c;
    c.key_dim = dim;
    c.value_dim = 1;
    c.index = factory;
    c.sync = false;
    c.cache_values = false;
    const std::string name = "m" + std::to_string(&factory - indexes.data());
    auto mem = db->create_memory(name, c);
    const std::size_t batch = 20000;
    const double insert_s = time_s([&] {
      for (std::size_t b = 0; b < n; b += batch) {
        const std::size_t rows = std::min(batch, n - b);
        mem->insert(MatrixView(keys.data() + b * dim, rows, dim), MatrixView(values.data() + b, rows, 1),
                    std::vector<std::string>(payloads.begin() + static_cast<std::ptrdiff_t>(b),
                                             payloads.begin() + static_cast<std::ptrdiff_t>(b + rows)));
      }
      if (!mem->stats().trained) mem->train();
    });
    double index_s = 0;
    if (payload_index)
      index_s = time_s([&] {
        for (const char* field : {"bucket", "source", "year"}) mem->create_payload_index(field);
      });
    rep.info({{"what", "built"}, {"index", factory}, {"insert_s", insert_s}, {"payload_index_s", index_s}});

    auto search_ms = [&](const SearchOptions& o, std::size_t rows, std::vector<SlotId>* ids) {
      SearchResult r;
      const double s = time_s([&] { r = mem->search(MatrixView(queries.data(), rows, dim), o); });
      if (ids) *ids = r.ids;
      return 1e3 * s;
    };
    // One-query calls (their results, k a query, into *ids when given).
    auto single_p50_ms = [&](const SearchOptions& o, std::vector<SlotId>* ids) {
      std::vector<double> t;
      if (ids) ids->clear();
      for (std::size_t q = 0; q < std::min(single, nq); ++q) {
        SearchResult r;
        t.push_back(1e3 * time_s([&] { r = mem->search(MatrixView(queries.data() + q * dim, 1, dim), o); }));
        if (ids) ids->insert(ids->end(), r.ids.begin(), r.ids.end());
      }
      return median(t);
    };
    SearchOptions plain;
    plain.k = k;
    search_ms(plain, nq, nullptr);  // warm-up
    std::vector<SlotId> plain_ids;
    const double plain_ms = median({search_ms(plain, nq, &plain_ids), search_ms(plain, nq, nullptr), search_ms(plain, nq, nullptr)});
    const double plain_single = single_p50_ms(plain, nullptr);
    {
      // The index's own recall without a filter, for reading the filtered figures against it.
      const std::vector<std::int64_t> truth = exact_topk(keys.data(), n, queries.data(), nq, dim, k);
      std::vector<std::int64_t> found(plain_ids.begin(), plain_ids.end());
      for (auto& f : found)
        if (static_cast<SlotId>(f) == kNoSlot) f = -1;
      Measurement r;
      r.area = "unfiltered_recall@" + std::to_string(k);
      r.index = factory;
      r.metric = "recall";
      r.a = recall_at(k, found.data(), k, truth, k, nq);
      r.b_name = "target";
      r.b = 0.95;
      rep.add(r);
    }

    for (const std::string& sel : selectivities) {
      const int buckets = std::stoi(sel);
      const double pct = buckets / 10.0;
      SearchOptions o = plain;
      o.filter = Filter::parse(R"({"must":[{"key":"bucket","range":{"lt":)" + sel + "}}]}");
      std::vector<SlotId> got, got_single;
      // The first call with the filter matches it (and the memory's first filtered call builds
      // its bitmap of live slots); later calls reuse the match until the memory changes.
      const double first_ms = search_ms(o, nq, &got), filtered_single = single_p50_ms(o, &got_single);
      // Ground truth, and the raw exact scan of the matching keys (FAISS IndexFlatIP over them).
      std::vector<std::size_t> match;
      for (std::size_t i = 0; i < n; ++i)
        if (bucket_of(i) < static_cast<std::size_t>(buckets)) match.push_back(i);
      // The exact scan of the matching ids: gather their keys (from RAM), then FAISS's brute-force
      // k-NN over them; the k-NN alone is reported too.
      std::vector<float> subset;
      std::vector<std::int64_t> truth;
      std::vector<std::uint64_t> rows(match.begin(), match.end()), kernel_ids(nq * static_cast<std::size_t>(k));
      std::vector<float> kernel_scores(kernel_ids.size());
      // Steady state: kRounds rounds of the filtered batch, the raw exact scan and Engram's own
      // exact k-NN on the same keys, interleaved so that the machine's load falls on all alike;
      // the median of each.
      constexpr int kRounds = 5;
      std::vector<double> filtered_t, exact_t, knn_t, kernel_t;
      for (int round = 0; round < kRounds; ++round) {
        filtered_t.push_back(search_ms(o, nq, nullptr));
        double knn_ms = 0;
        exact_t.push_back(1e3 * time_s([&] {
          subset.resize(match.size() * static_cast<std::size_t>(dim));
          for (std::size_t j = 0; j < match.size(); ++j)
            std::copy_n(keys.begin() + static_cast<std::ptrdiff_t>(match[j] * dim), dim, subset.begin() + static_cast<std::ptrdiff_t>(j * dim));
          knn_ms = 1e3 * time_s([&] { truth = exact_topk(subset.data(), match.size(), queries.data(), nq, dim, k); });
        }));
        knn_t.push_back(knn_ms);
        kernel_t.push_back(1e3 * time_s([&] {
          index::exact_knn(Metric::kInnerProduct, static_cast<std::size_t>(dim), nq, queries.data(), match.size(),
                           subset.data(), rows.data(), k, kernel_scores.data(), kernel_ids.data());
        }));
      }
      const double filtered_ms = median(filtered_t), exact_ms = median(exact_t), knn_ms = median(knn_t),
                   kernel_ms = median(kernel_t);
      for (auto& t : truth)
        if (t >= 0) t = static_cast<std::int64_t>(match[static_cast<std::size_t>(t)]);
      // Recall over what can be found: min(k, matching) true neighbours a query. The batch and
      // the single calls apart: the planner may search them differently (exact or in the index).
      auto recall_of = [&](const std::vector<SlotId>& found, std::size_t rows) {
        std::size_t hits = 0, wanted = 0;
        for (std::size_t q = 0; q < rows; ++q) {
          for (int j = 0; j < k; ++j) {
            const std::int64_t t = truth[q * static_cast<std::size_t>(k) + static_cast<std::size_t>(j)];
            if (t < 0) continue;
            ++wanted;
            hits += std::count(found.begin() + static_cast<std::ptrdiff_t>(q * static_cast<std::size_t>(k)),
                               found.begin() + static_cast<std::ptrdiff_t>((q + 1) * static_cast<std::size_t>(k)), static_cast<SlotId>(t));
          }
        }
        return wanted ? static_cast<double>(hits) / static_cast<double>(wanted) : 1.0;
      };
      const double recall = recall_of(got, nq), recall_single = recall_of(got_single, std::min(single, nq));

      Measurement r;
      r.area = "filtered_recall@" + std::to_string(k) + " " + std::to_string(pct).substr(0, 4) + "%";
      r.index = factory;
      r.metric = "recall";
      r.a = recall;
      r.b_name = "target";
      r.b = 0.95;
      r.target = 1.0;
      rep.add(r);
      Measurement rs = r;
      rs.area = "filtered_recall_single@" + std::to_string(k) + " " + std::to_string(pct).substr(0, 4) + "%";
      rs.a = recall_single;
      rs.extra = {{"queries", std::min(single, nq)}};
      rep.add(rs);

      Measurement l;
      l.area = "filtered_vs_unfiltered_batch " + std::to_string(pct).substr(0, 4) + "%";
      l.index = factory;
      l.metric = "ms_per_call";
      l.a_name = "filtered";
      l.a = filtered_ms;
      l.b_name = "unfiltered";
      l.b = plain_ms;
      l.higher_is_better = false;
      if (buckets == 100) l.target = 2.0;
      l.extra = {{"first_call_ms", first_ms}};
      rep.add(l);
      Measurement lf = l;  // the first call with the filter: it also matches it
      lf.area = "first_filtered_vs_unfiltered_batch " + std::to_string(pct).substr(0, 4) + "%";
      lf.a_name = "first_filtered";
      lf.a = first_ms;
      lf.extra = {};
      rep.add(lf);
      Measurement ls = l;
      ls.area = "filtered_vs_unfiltered_single " + std::to_string(pct).substr(0, 4) + "%";
      ls.metric = "p50_ms_single_query";
      ls.a = filtered_single;
      ls.b = plain_single;
      ls.extra = {};
      rep.add(ls);

      Measurement e;
      e.area = "filtered_vs_exact_scan_batch " + std::to_string(pct).substr(0, 4) + "%";
      e.index = factory;
      e.metric = "ms_per_call";
      e.a_name = "filtered";
      e.a = filtered_ms;
      e.b_name = "raw_exact_scan";
      e.b = exact_ms;
      e.higher_is_better = false;
      if (buckets == 1) e.target = 1.0;
      e.extra = {{"matching", match.size()}, {"raw_knn_only_ms", knn_ms}};
      rep.add(e);

      Measurement kn = e;  // the k-NN alone: Engram's kernel against FAISS's on the same keys
      kn.area = "exact_knn_kernel_batch " + std::to_string(pct).substr(0, 4) + "%";
      kn.a_name = "engram_exact_knn";
      kn.a = kernel_ms;
      kn.b_name = "faiss_knn";
      kn.b = knn_ms;
      kn.target = 0;
      kn.extra = {{"matching", match.size()}, {"simd", index::simd_level_name()}};
      rep.add(kn);
    }
  }
  // Upsert against insert: the same rows, batches and payloads on two fresh Flat memories.
  if (upsert_section) {
    MemoryConfig c;
    c.key_dim = dim;
    c.value_dim = 1;
    c.sync = false;
    c.cache_values = false;
    auto plain = db->create_memory("insert", c);
    auto keyed = db->create_memory("upsert", c);
    // Batches interleaved, insert then upsert and upsert then insert in turn, so that RocksDB's
    // background flushes and compactions (and the machine's other load) fall on both alike.
    const std::size_t batch = 20000;
    std::vector<std::vector<ExternalId>> batch_ids;
    std::vector<std::vector<std::string>> batch_payloads;
    for (std::size_t b = 0; b < n; b += batch) {
      const std::size_t rows = std::min(batch, n - b);
      batch_ids.emplace_back();
      for (std::size_t i = b; i < b + rows; ++i) batch_ids.back().emplace_back("doc-" + std::to_string(i));
      batch_payloads.emplace_back(payloads.begin() + static_cast<std::ptrdiff_t>(b),
                                  payloads.begin() + static_cast<std::ptrdiff_t>(b + rows));
    }
    auto write = [&](MemoryInterface& mem, std::size_t j, bool upsert) {
      const std::size_t b = j * batch, rows = batch_ids[j].size();
      const MatrixView kv(keys.data() + b * dim, rows, dim), vv(values.data() + b, rows, 1);
      return time_s([&] {
        if (upsert)
          mem.upsert(batch_ids[j], kv, vv, batch_payloads[j]);
        else
          mem.insert(kv, vv, batch_payloads[j]);
      });
    };
    double insert_s = 0, upsert_s = 0, again_s = 0;
    for (std::size_t j = 0; j < batch_ids.size(); ++j) {
      if (j % 2 == 0) {
        insert_s += write(*plain, j, false);
        upsert_s += write(*keyed, j, true);
      } else {
        upsert_s += write(*keyed, j, true);
        insert_s += write(*plain, j, false);
      }
    }
    for (std::size_t j = 0; j < batch_ids.size(); ++j) again_s += write(*keyed, j, true);
    Measurement u;
    u.area = "upsert_vs_insert " + std::to_string(n) + " slots";
    u.index = "Flat";
    u.metric = "seconds";
    u.a_name = "upsert";
    u.a = upsert_s;
    u.b_name = "insert";
    u.b = insert_s;
    u.higher_is_better = false;
    u.target = 1.3;
    u.extra = {{"upsert_again_replacing_all_s", again_s}, {"slots_after_two_upserts", keyed->count()}};
    rep.add(u);
  }
  db.reset();
  if (!keep) fs::remove_all(dir);
  rep.print_table();
  return 0;
}

}  // namespace engram::bench
