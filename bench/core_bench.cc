// engram-bench core — the embedded library against the raw libraries it is built on.
//
// Every measurement runs Engram and its raw counterpart in the same process, on the same data,
// interleaved (A B B A ...) so that a noisy machine slows both sides alike; the figure that
// matters is the ratio. Sections (all by default, --sections picks some):
//   insert   Memory::insert (batches of --batch, sync off) vs FAISS add + a RocksDB WriteBatch
//            of the same key and value bytes (default column family, sync off)
//   read     batch read (k = --k) vs FAISS search on an identical index; plus Memory::search,
//            to split Engram's read time into search and value fetch + softmax
//   latency  single-query read vs single-query FAISS search: p50 and p99
//   write    gated write (k = --write-k), sync on and off, vs FAISS search + the same gate
//            arithmetic + a RocksDB WriteBatch of the updated values
//   reopen   Database::open + Database::memory vs faiss::read_index of the checkpoint's bytes
//   hnsw     FAISS HNSW (the raw index of the first HNSW entry of --index) vs hnswlib at equal
//            recall@10: QPS at recall 0.90 and 0.95, and build time
// The insert section builds every index the others use, so it always runs.
#include <faiss/AutoTune.h>
#include <faiss/Index.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <unordered_map>

#include "bench/common.h"
#include "bench/data.h"
#include "bench/hnswlib_runner.h"
#include "engram/engram.h"
#include "index/vector_index.h"

namespace fs = std::filesystem;

namespace engram::bench {
namespace {

using faiss_idx = faiss::Index::idx_t;

struct Options {
  std::size_t n = 1000000;
  std::size_t nq = 1000;        // queries in a batch (and for recall)
  std::size_t batch = 10000;    // insert batch
  int k = 32;                   // read k
  int write_k = 8;
  int reps = 5;                 // repetitions of every batch measurement (best is reported)
  std::size_t latency_queries = 1000;
  std::size_t latency_queries_flat = 100;  // Flat costs O(n) a query
  int write_batches = 3;
  int sweep_reps = 3;
  int key_dim = 128, value_dim = 128;
  int clusters = 1000;
  double spread = 0.12;
  std::uint64_t seed = 42;
  std::vector<std::string> indexes;
  std::vector<std::string> sections;
  std::vector<int> hnswlib_m;
  std::vector<int> ef_sweep;
  int ef_construction = 0;  // every HNSW graph of the run, Engram's and the raw libraries'
  std::string dir;
  bool keep = false;

  bool wants(const std::string& s) const {
    return std::find(sections.begin(), sections.end(), s) != sections.end();
  }
};

// One index type under test: the Engram memory and its raw twin.
struct Side {
  std::string factory;
  std::string memory_name;
  std::uint32_t raw_prefix = 0;
  std::shared_ptr<Memory> mem;
  std::unique_ptr<faiss::Index> raw;
  std::size_t raw_rows = 0;           // rows the raw index has been given (trained or pending)
  SlotId first_id = kNoSlot;          // Engram's id of row 0 (ids are consecutive)
  double engram_insert_s = 0, raw_faiss_s = 0, raw_rocks_s = 0;
  std::vector<float> raw_values;      // the raw side's RAM copy of values, for gated writes
};

double best(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

bool is_hnsw(const std::string& factory) { return factory.rfind("HNSW", 0) == 0; }

// Engram's defaults for a search parameter string, applied to the raw index as well.
// Engram's settings on a raw FAISS index: its search defaults and the graph's efConstruction.
void apply_engram_defaults(faiss::Index* index, int ef_construction) {
  faiss::ParameterSpace ps;
  if (auto* graph = dynamic_cast<faiss::IndexHNSW*>(index)) {
    ps.set_index_parameters(index, "efSearch=64");
    graph->hnsw.efConstruction = ef_construction;
  }
  if (dynamic_cast<faiss::IndexIVF*>(index)) ps.set_index_parameters(index, "nprobe=16");
}

std::size_t auto_train_points(const faiss::Index* index) {
  if (index->is_trained) return 0;
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) return 39 * ivf->nlist;
  return 0;
}

std::string raw_key(char tag, std::uint32_t prefix, std::uint64_t row) {
  std::string k(13, '\0');
  k[0] = tag;
  for (int i = 0; i < 4; ++i) k[1 + i] = static_cast<char>((prefix >> (24 - 8 * i)) & 0xff);
  for (int i = 0; i < 8; ++i) k[5 + i] = static_cast<char>((row >> (56 - 8 * i)) & 0xff);
  return k;
}

void rocks_check(const rocksdb::Status& s, const char* what) {
  if (!s.ok()) throw std::runtime_error(std::string(what) + ": " + s.ToString());
}

std::vector<std::int64_t> to_rows(const std::vector<SlotId>& ids, SlotId first_id) {
  std::vector<std::int64_t> out(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    out[i] = ids[i] == kNoSlot ? -1 : static_cast<std::int64_t>(ids[i] - first_id);
  }
  return out;
}

// QPS at the recall target, interpolated (log-linear) between the sweep points around it.
// NaN when the sweep never reaches the target.
double qps_at_recall(const std::vector<std::pair<double, double>>& recall_qps, double target) {
  for (std::size_t i = 0; i < recall_qps.size(); ++i) {
    if (recall_qps[i].first >= target) {
      if (i == 0) return recall_qps[0].second;
      const auto [r0, q0] = recall_qps[i - 1];
      const auto [r1, q1] = recall_qps[i];
      if (r1 <= r0) return q1;
      const double t = (target - r0) / (r1 - r0);
      return std::exp(std::log(q0) + t * (std::log(q1) - std::log(q0)));
    }
  }
  return NAN;
}

class CoreBench {
 public:
  CoreBench(Options o, Reporter* rep) : o_(std::move(o)), rep_(rep) {}

  void run() {
    make_data();
    open_stores();
    for (std::size_t i = 0; i < o_.indexes.size(); ++i) {
      Side& s = sides_.emplace_back();
      s.factory = o_.indexes[i];
      s.memory_name = "m" + std::to_string(i);
      s.raw_prefix = static_cast<std::uint32_t>(i + 1);
    }
    for (Side& s : sides_) {
      insert_section(s);
      if (o_.wants("read")) read_section(s);
      if (o_.wants("latency")) latency_section(s);
      if (o_.wants("write")) write_section(s);
    }
    if (o_.wants("reopen")) reopen_section();
    if (o_.wants("hnsw")) hnsw_section();
  }

 private:
  // ------------------------------------------------------------------------------------------
  void make_data() {
    const double t_gen = time_s([&] {
      Mixture mix(o_.key_dim, o_.clusters, static_cast<float>(o_.spread), o_.seed);
      keys_ = mix.sample(o_.n, /*stream=*/1);
      queries_ = mix.sample(o_.nq, /*stream=*/2);
      values_ = random_unit(o_.n, o_.value_dim, o_.seed + 3);
      write_values_ = random_unit(o_.nq, o_.value_dim, o_.seed + 4);
    });
    const int gt_k = std::max(o_.k, 10);
    const double t_gt = time_s([&] {
      truth_ = exact_topk(keys_.data(), o_.n, queries_.data(), o_.nq, o_.key_dim, gt_k);
    });
    truth_k_ = gt_k;
    rep_->info({{"what", "data"}, {"n", o_.n}, {"queries", o_.nq}, {"key_dim", o_.key_dim},
                {"value_dim", o_.value_dim}, {"clusters", o_.clusters}, {"spread", o_.spread},
                {"seed", o_.seed}, {"generate_s", t_gen}, {"ground_truth_s", t_gt},
                {"ground_truth_k", gt_k}});
  }

  void open_stores() {
    if (fs::exists(o_.dir) && !fs::is_empty(o_.dir)) {
      throw std::runtime_error(o_.dir + " exists and is not empty; pass an empty or new --dir");
    }
    fs::create_directories(o_.dir);
    engram_dir_ = (fs::path(o_.dir) / "engram").string();
    raw_dir_ = (fs::path(o_.dir) / "raw-rocksdb").string();
    db_ = Database::open(engram_dir_);

    // The raw store: one RocksDB, default column family, tuned like Engram's vector families
    // (no compression: float vectors do not compress; 64 MiB memtables; 2 background jobs).
    rocksdb::Options ro;
    ro.create_if_missing = true;
    ro.compression = rocksdb::kNoCompression;
    ro.write_buffer_size = 64 << 20;
    ro.max_background_jobs = 2;
    ro.bytes_per_sync = 1 << 20;
    rocksdb::DB* raw = nullptr;
    rocks_check(rocksdb::DB::Open(ro, raw_dir_, &raw), "opening the raw RocksDB");
    rocks_.reset(raw);
  }

  // ------------------------------------------------------------------------------------------
  void insert_section(Side& s) {
    MemoryConfig cfg;
    cfg.key_dim = o_.key_dim;
    cfg.value_dim = o_.value_dim;
    cfg.metric = Metric::kInnerProduct;
    cfg.index = s.factory;
    s.mem = db_->create_memory(s.memory_name, cfg);
    s.raw.reset(faiss::index_factory(o_.key_dim, s.factory.c_str(), faiss::METRIC_INNER_PRODUCT));
    cfg.ef_construction = o_.ef_construction;
    apply_engram_defaults(s.raw.get(), o_.ef_construction);

    WriteOptions nosync;
    nosync.sync = false;
    rocksdb::WriteOptions raw_nosync;
    raw_nosync.sync = false;
    const std::size_t dk = o_.key_dim, dv = o_.value_dim;
    const std::size_t batches = (o_.n + o_.batch - 1) / o_.batch;
    for (std::size_t b = 0; b < batches; ++b) {
      const std::size_t first = b * o_.batch, rows = std::min(o_.batch, o_.n - first);
      const float* kb = keys_.data() + first * dk;
      const float* vb = values_.data() + first * dv;
      auto engram_side = [&] {
        std::vector<SlotId> ids;
        s.engram_insert_s += time_s([&] {
          ids = s.mem->insert(MatrixView(kb, rows, dk), MatrixView(vb, rows, dv), {}, nosync);
        });
        if (b == 0) s.first_id = ids[0];
        if (ids.size() != rows || ids.front() != s.first_id + first || ids.back() != s.first_id + first + rows - 1) {
          throw std::runtime_error("Engram assigned non-consecutive ids; the bench maps ids to rows");
        }
      };
      auto raw_side = [&] {
        s.raw_faiss_s += time_s([&] { raw_add(s, first, rows); });
        s.raw_rocks_s += time_s([&] {
          rocksdb::WriteBatch wb;
          for (std::size_t i = 0; i < rows; ++i) {
            wb.Put(raw_key('k', s.raw_prefix, first + i),
                   rocksdb::Slice(reinterpret_cast<const char*>(kb + i * dk), dk * sizeof(float)));
            wb.Put(raw_key('v', s.raw_prefix, first + i),
                   rocksdb::Slice(reinterpret_cast<const char*>(vb + i * dv), dv * sizeof(float)));
          }
          rocks_check(rocks_->Write(raw_nosync, &wb), "raw write");
        });
      };
      if (b % 2 == 0) { engram_side(); raw_side(); } else { raw_side(); engram_side(); }
    }
    const double raw_s = s.raw_faiss_s + s.raw_rocks_s;
    Measurement m;
    m.area = "insert";
    m.index = s.factory;
    m.metric = "rows_per_s";
    m.a = o_.n / s.engram_insert_s;
    m.b = o_.n / raw_s;
    m.target = 0.8;
    m.extra = {{"batch", o_.batch}, {"engram_s", s.engram_insert_s}, {"raw_s", raw_s},
               {"raw_faiss_add_s", s.raw_faiss_s}, {"raw_rocksdb_s", s.raw_rocks_s},
               {"engram_overhead_s", s.engram_insert_s - raw_s}};
    rep_->add(m);
  }

  // Adds rows [first, first+rows) to the raw index, training it the way Engram does (on every
  // key so far, once 39 × nlist keys exist).
  void raw_add(Side& s, std::size_t first, std::size_t rows) {
    const std::size_t dk = o_.key_dim;
    s.raw_rows = first + rows;
    if (s.raw->is_trained) {
      s.raw->add(static_cast<faiss_idx>(rows), keys_.data() + first * dk);
      return;
    }
    if (s.raw_rows < std::max<std::size_t>(auto_train_points(s.raw.get()), 1)) return;
    s.raw->train(static_cast<faiss_idx>(s.raw_rows), keys_.data());
    s.raw->add(static_cast<faiss_idx>(s.raw_rows), keys_.data());
  }

  // ------------------------------------------------------------------------------------------
  void read_section(Side& s) {
    const std::size_t nq = o_.nq, dk = o_.key_dim;
    const int k = o_.k;
    const MatrixView q(queries_.data(), nq, dk);
    std::vector<double> t_read, t_search, t_raw;
    ReadResult rr;
    SearchResult sr;
    std::vector<float> raw_scores(nq * k);
    std::vector<faiss_idx> raw_labels(nq * k);
    auto engram_read = [&] { t_read.push_back(time_s([&] { rr = s.mem->read(q, {.k = k}); })); };
    auto engram_search = [&] { t_search.push_back(time_s([&] { sr = s.mem->search(q, {.k = k}); })); };
    auto raw_search = [&] {
      t_raw.push_back(time_s([&] {
        s.raw->search(static_cast<faiss_idx>(nq), queries_.data(), k, raw_scores.data(), raw_labels.data());
      }));
    };
    // Warm-up (first touches of the value cache and the graph), then rotate the order.
    engram_read();
    raw_search();
    t_read.clear();
    t_raw.clear();
    for (int r = 0; r < o_.reps; ++r) {
      switch (r % 3) {
        case 0: engram_read(); engram_search(); raw_search(); break;
        case 1: raw_search(); engram_read(); engram_search(); break;
        default: engram_search(); raw_search(); engram_read(); break;
      }
    }
    // Best of the repetitions: on a shared machine the minimum is the least disturbed run.
    const double read_s = best(t_read), search_s = best(t_search), raw_s = best(t_raw);
    const auto engram_rows = to_rows(rr.ids, s.first_id);
    const std::vector<std::int64_t> raw_rows(raw_labels.begin(), raw_labels.end());
    const double rec_e = recall_at(10, engram_rows.data(), k, truth_, truth_k_, nq);
    const double rec_r = recall_at(10, raw_rows.data(), k, truth_, truth_k_, nq);
    const double rec32_e = recall_at(k, engram_rows.data(), k, truth_, truth_k_, nq);
    const double rec32_r = recall_at(k, raw_rows.data(), k, truth_, truth_k_, nq);

    Measurement m;
    m.area = "read_batch";
    m.index = s.factory;
    m.metric = "qps";
    m.a = nq / read_s;
    m.b = nq / raw_s;
    m.target = 0.8;
    m.extra = {{"k", k}, {"batch", nq}, {"reps", o_.reps}, {"engram_read_s", read_s},
               {"engram_search_s", search_s}, {"raw_search_s", raw_s},
               {"median_engram_read_s", median(t_read)}, {"median_engram_search_s", median(t_search)},
               {"median_raw_search_s", median(t_raw)},
               {"recall10_engram", rec_e}, {"recall10_raw", rec_r},
               {"recall32_engram", rec32_e}, {"recall32_raw", rec32_r}};
    rep_->add(m);

    Measurement f;
    f.area = "read_batch";
    f.index = s.factory;
    f.metric = "fetch+softmax s / search s";
    f.a_name = "fetch_softmax_s";
    f.a = std::max(0.0, read_s - search_s);
    f.b_name = "search_s";
    f.b = search_s;
    f.higher_is_better = false;
    f.target = 0.25;
    f.extra = {{"share_of_read", f.a / read_s},
               {"method", "best Memory::read minus best Memory::search, same queries and k"}};
    rep_->add(f);

    Measurement rc;
    rc.area = "read_batch";
    rc.index = s.factory;
    rc.metric = "recall@10";
    rc.a = rec_e;
    rc.b = rec_r;
    rc.extra = {{"recall32_engram", rec32_e}, {"recall32_raw", rec32_r}};
    rep_->add(rc);
  }

  // ------------------------------------------------------------------------------------------
  void latency_section(Side& s) {
    const std::size_t dk = o_.key_dim;
    const int k = o_.k;
    const std::size_t count = std::min(o_.nq, s.factory == "Flat" ? o_.latency_queries_flat : o_.latency_queries);
    std::vector<double> lat_e, lat_r, lat_m;
    std::vector<float> scores(k);
    std::vector<faiss_idx> labels(k);
    // A third side: the raw search followed by the id translation faiss::IndexIDMap2::search does
    // (an OpenMP parallel-for over the n·k labels), which Engram's index sits behind. It tells
    // how much of Engram's single-query cost is that parallel region alone.
    std::vector<faiss_idx> id_map(s.raw->ntotal);
    for (std::size_t i = 0; i < id_map.size(); ++i) id_map[i] = static_cast<faiss_idx>(i);
    const std::size_t warm = std::min<std::size_t>(10, count);
    for (std::size_t i = 0; i < count + warm; ++i) {
      const std::size_t qi = i % o_.nq;
      const float* qp = queries_.data() + qi * dk;
      double te = 0, tr = 0, tm = 0;
      auto e = [&] { te = time_s([&] { s.mem->read(MatrixView(qp, 1, dk), {.k = k}); }); };
      auto r = [&] { tr = time_s([&] { s.raw->search(1, qp, k, scores.data(), labels.data()); }); };
      auto m = [&] {
        tm = time_s([&] {
          s.raw->search(1, qp, k, scores.data(), labels.data());
          faiss_idx* li = labels.data();
          const long long total = k;
#pragma omp parallel for
          for (long long j = 0; j < total; ++j) li[j] = li[j] < 0 ? li[j] : id_map[li[j]];
        });
      };
      if (i % 2 == 0) { e(); r(); m(); } else { m(); r(); e(); }
      if (i >= warm) {
        lat_e.push_back(te * 1e3);
        lat_r.push_back(tr * 1e3);
        lat_m.push_back(tm * 1e3);
      }
    }
    for (auto [name, q] : {std::pair<const char*, double>{"p50_ms", 0.5}, {"p99_ms", 0.99}}) {
      Measurement m;
      m.area = "read_single";
      m.index = s.factory;
      m.metric = name;
      m.a = percentile(lat_e, q);
      m.b = percentile(lat_r, q);
      m.higher_is_better = false;
      m.extra = {{"k", k}, {"queries", count}, {"raw_plus_idmap_translate_ms", percentile(lat_m, q)}};
      rep_->add(m);
    }
  }

  // ------------------------------------------------------------------------------------------
  // The raw twin of Memory::write: FAISS search, gates σ(s + b) with b = 0, updates composed in
  // query order, one WriteBatch of the updated values, the RAM copy updated after the commit.
  void raw_gated_write(Side& s, const float* q, const float* w, std::size_t nq, int k, bool sync) {
    const std::size_t dv = o_.value_dim;
    std::vector<float> scores(nq * k);
    std::vector<faiss_idx> labels(nq * k);
    s.raw->search(static_cast<faiss_idx>(nq), q, k, scores.data(), labels.data());
    std::unordered_map<faiss_idx, std::vector<float>> updated;
    std::vector<faiss_idx> order;
    for (std::size_t i = 0; i < nq; ++i) {
      for (int j = 0; j < k; ++j) {
        const std::size_t e = i * k + j;
        if (labels[e] < 0) continue;
        const float g = 1.0f / (1.0f + std::exp(-scores[e]));
        auto [it, fresh] = updated.try_emplace(labels[e]);
        if (fresh) {
          const float* cur = s.raw_values.data() + static_cast<std::size_t>(labels[e]) * dv;
          it->second.assign(cur, cur + dv);
          order.push_back(labels[e]);
        }
        for (std::size_t d = 0; d < dv; ++d) it->second[d] = g * w[i * dv + d] + (1.0f - g) * it->second[d];
      }
    }
    rocksdb::WriteBatch wb;
    for (faiss_idx id : order) {
      wb.Put(raw_key('v', s.raw_prefix, static_cast<std::uint64_t>(id)),
             rocksdb::Slice(reinterpret_cast<const char*>(updated[id].data()), dv * sizeof(float)));
    }
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    rocks_check(rocks_->Write(wo, &wb), "raw gated write");
    for (faiss_idx id : order) {
      std::copy(updated[id].begin(), updated[id].end(), s.raw_values.begin() + static_cast<std::ptrdiff_t>(id * dv));
    }
  }

  void write_section(Side& s) {
    const std::size_t nq = o_.nq, dk = o_.key_dim, dv = o_.value_dim;
    const int k = o_.write_k;
    if (s.raw_values.empty()) s.raw_values = values_;
    for (bool sync : {true, false}) {
      WriteOptions wo;
      wo.sync = sync;
      std::vector<double> te, tr;
      for (int b = 0; b < o_.write_batches; ++b) {
        auto e = [&] {
          te.push_back(time_s([&] {
            s.mem->write(MatrixView(queries_.data(), nq, dk), MatrixView(write_values_.data(), nq, dv), k, wo);
          }));
        };
        auto r = [&] {
          tr.push_back(time_s([&] { raw_gated_write(s, queries_.data(), write_values_.data(), nq, k, sync); }));
        };
        if (b % 2 == 0) { e(); r(); } else { r(); e(); }
      }
      Measurement m;
      m.area = sync ? "write_sync" : "write_nosync";
      m.index = s.factory;
      m.metric = "queries_per_s";
      m.a = nq / best(te);
      m.b = nq / best(tr);
      m.extra = {{"k", k}, {"batch", nq}, {"batches", o_.write_batches}, {"sync", sync},
                 {"engram_s", best(te)}, {"raw_s", best(tr)}, {"median_engram_s", median(te)},
                 {"median_raw_s", median(tr)}};
      rep_->add(m);
    }
  }

  // ------------------------------------------------------------------------------------------
  void reopen_section() {
    for (Side& s : sides_) s.mem.reset();
    const double close_s = time_s([&] { db_.reset(); });  // checkpoints every memory
    rep_->info({{"what", "close"}, {"close_with_checkpoints_s", close_s}});

    for (std::size_t i = 0; i < sides_.size(); ++i) {
      Side& s = sides_[i];
      // A fresh database numbers its memories 1, 2, ... in creation order.
      const fs::path cp = fs::path(engram_dir_) / "index" / (std::to_string(i + 1) + ".idx");
      const fs::path raw_file = fs::path(o_.dir) / (s.memory_name + ".faiss");
      std::uint64_t faiss_bytes = 0;
      {
        // Checkpoint layout (docs/durability.md): 36-byte header, then u64 length, then the
        // FAISS bytes, then the tombstone list.
        std::ifstream in(cp, std::ios::binary);
        if (!in) throw std::runtime_error("no checkpoint at " + cp.string());
        in.seekg(36);
        in.read(reinterpret_cast<char*>(&faiss_bytes), 8);
        std::vector<char> bytes(faiss_bytes);
        in.read(bytes.data(), static_cast<std::streamsize>(faiss_bytes));
        if (!in) throw std::runtime_error(cp.string() + " is shorter than its length field");
        std::ofstream out(raw_file, std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      }
      std::vector<double> te, tr, t_db, t_mem;
      std::uint64_t slots = 0;
      for (int r = 0; r < std::max(2, o_.reps - 1); ++r) {
        auto e = [&] {
          std::unique_ptr<Database> db;
          const double t0 = now_s();
          db = Database::open(engram_dir_);
          const double t1 = now_s();
          slots = db->memory(s.memory_name)->count();
          const double t2 = now_s();
          te.push_back(t2 - t0);
          t_db.push_back(t1 - t0);
          t_mem.push_back(t2 - t1);
          db.reset();  // untimed: writes the checkpoint again
        };
        auto raw = [&] {
          tr.push_back(time_s([&] { std::unique_ptr<faiss::Index> idx(faiss::read_index(raw_file.c_str())); }));
        };
        if (r % 2 == 0) { e(); raw(); } else { raw(); e(); }
      }
      if (slots != o_.n) throw std::runtime_error("reopened memory holds " + std::to_string(slots) + " slots");
      // What Engram does on top of read_index: scan every value into its RAM cache. Time the
      // same scan on the raw store, as the likely explanation of the difference.
      const double scan_s = time_s([&] {
        rocksdb::ReadOptions ro;
        const std::string begin = raw_key('v', s.raw_prefix, 0), end = raw_key('v', s.raw_prefix + 1, 0);
        rocksdb::Slice upper(end);
        ro.iterate_upper_bound = &upper;
        ro.fill_cache = false;
        std::unique_ptr<rocksdb::Iterator> it(rocks_->NewIterator(ro));
        std::vector<float> v(o_.value_dim);
        std::size_t rows = 0;
        for (it->Seek(begin); it->Valid(); it->Next(), ++rows) std::memcpy(v.data(), it->value().data(), it->value().size());
        if (rows != o_.n) throw std::runtime_error("raw value scan found " + std::to_string(rows) + " rows");
      });
      Measurement m;
      m.area = "reopen";
      m.index = s.factory;
      m.metric = "seconds";
      m.a = best(te);
      m.b = best(tr);
      m.higher_is_better = false;
      m.target = 3.0;
      m.extra = {{"checkpoint_bytes", fs::file_size(cp)}, {"faiss_bytes", faiss_bytes},
                 {"engram_database_open_s", best(t_db)}, {"engram_memory_open_s", best(t_mem)},
                 {"first_engram_open_s", te.front()},
                 {"raw_rocksdb_value_scan_s", scan_s}, {"reps", te.size()},
                 {"note", "files in the page cache (written just before)"}};
      rep_->add(m);
    }
    // The sections that follow (hnsw) create memories in the shared database: open it again.
    db_ = Database::open(engram_dir_);
    for (Side& s : sides_) s.mem = db_->memory(s.memory_name);
  }

  // ------------------------------------------------------------------------------------------
  void hnsw_section() {
    Side* s = nullptr;
    for (Side& c : sides_) {
      if (is_hnsw(c.factory) && c.factory.find(',') == std::string::npos) { s = &c; break; }
    }
    if (!s) {
      rep_->info({{"what", "hnsw"}, {"skipped", "no plain HNSW<M> entry in --index"}});
      return;
    }
    auto* faiss_hnsw = dynamic_cast<faiss::IndexHNSW*>(s->raw.get());
    const int faiss_l0 = faiss_hnsw->hnsw.nb_neighbors(0);
    const int faiss_up = faiss_hnsw->hnsw.nb_neighbors(1);
    const std::size_t nq = o_.nq, dk = o_.key_dim;
    const int k = 10;
    std::vector<std::int64_t> labels(nq * k);
    std::vector<float> scores(nq * k);
    std::vector<faiss_idx> flabels(nq * k);

    // Sweep FAISS.
    std::vector<std::pair<double, double>> faiss_curve;
    const int saved_ef = faiss_hnsw->hnsw.efSearch;
    for (int ef : o_.ef_sweep) {
      faiss_hnsw->hnsw.efSearch = ef;
      std::vector<double> t;
      for (int r = 0; r < o_.sweep_reps; ++r) {
        t.push_back(time_s([&] { faiss_hnsw->search(static_cast<faiss_idx>(nq), queries_.data(), k, scores.data(), flabels.data()); }));
      }
      const std::vector<std::int64_t> got(flabels.begin(), flabels.end());
      const double rec = recall_at(k, got.data(), k, truth_, truth_k_, nq);
      faiss_curve.emplace_back(rec, nq / best(t));
      rep_->info({{"what", "hnsw_sweep"}, {"library", "faiss"}, {"index", s->factory}, {"ef", ef},
                  {"recall10", rec}, {"qps", nq / best(t)}});
    }
    faiss_hnsw->hnsw.efSearch = saved_ef;
    const double faiss_build_s = s->raw_faiss_s;

    for (int M : o_.hnswlib_m) {
      std::unique_ptr<HnswlibIndex> h;
      const double build_s = time_s([&] {
        h = std::make_unique<HnswlibIndex>(o_.key_dim, o_.n, M, o_.ef_construction, o_.seed);
        h->add(o_.n, keys_.data());
      });
      const std::string name = "hnswlib_M" + std::to_string(M);
      std::vector<std::pair<double, double>> curve;
      for (int ef : o_.ef_sweep) {
        std::vector<double> t;
        for (int r = 0; r < o_.sweep_reps; ++r) {
          t.push_back(time_s([&] { h->search(nq, queries_.data(), k, ef, labels.data()); }));
        }
        const double rec = recall_at(k, labels.data(), k, truth_, truth_k_, nq);
        curve.emplace_back(rec, nq / best(t));
        rep_->info({{"what", "hnsw_sweep"}, {"library", name}, {"ef", ef}, {"recall10", rec},
                    {"qps", nq / best(t)}});
      }
      const nlohmann::ordered_json common = {
          {"faiss_neighbours_level0", faiss_l0}, {"faiss_neighbours_upper", faiss_up},
          {"hnswlib_neighbours_level0", h->level0_neighbours()}, {"hnswlib_neighbours_upper", M},
          {"ef_construction", o_.ef_construction}, {"hnswlib_simd", HnswlibIndex::simd()}, {"queries", nq}};
      for (double target : {0.90, 0.95}) {
        Measurement m;
        m.area = "hnsw";
        m.index = s->factory;
        m.metric = "qps@recall" + std::string(target == 0.90 ? "0.90" : "0.95");
        m.a_name = "faiss";
        m.a = qps_at_recall(faiss_curve, target);
        m.b_name = name;
        m.b = qps_at_recall(curve, target);
        m.extra = common;
        m.extra["faiss_max_recall"] = faiss_curve.empty() ? 0 : faiss_curve.back().first;
        m.extra["hnswlib_max_recall"] = curve.empty() ? 0 : curve.back().first;
        rep_->add(m);
      }
      Measurement b;
      b.area = "hnsw";
      b.index = s->factory;
      b.metric = "build_s";
      b.a_name = "faiss";
      b.a = faiss_build_s;
      b.b_name = name;
      b.b = build_s;
      b.higher_is_better = false;
      b.extra = common;
      b.extra["faiss_build_note"] = "sum of the raw FAISS add() calls of the insert section (batches of " +
                                    std::to_string(o_.batch) + ")";
      rep_->add(b);
      hnswlib_backend(M, *h);
    }
  }

  // Engram's own hnswlib backend ("HNSWlib<M>") against the raw hnswlib index built above, at
  // Engram's default efSearch (64): search throughput and insert time versus hnswlib's build.
  void hnswlib_backend(int M, const HnswlibIndex& raw) {
    const std::size_t nq = o_.nq, dk = o_.key_dim, dv = o_.value_dim;
    const int k = 10, ef = 64;
    MemoryConfig cfg;
    cfg.key_dim = o_.key_dim;
    cfg.value_dim = o_.value_dim;
    cfg.index = "HNSWlib" + std::to_string(M);
    cfg.ef_construction = o_.ef_construction;
    auto mem = db_->create_memory("bench-hnswlib" + std::to_string(M), cfg);
    SlotId first = kNoSlot;
    const double insert_s = time_s(
        [&] { first = insert_in_batches(*mem, keys_.data(), dk, values_.data(), dv, o_.n, o_.batch); });
    const MatrixView q(queries_.data(), nq, dk);
    std::vector<std::int64_t> labels(nq * k);
    SearchResult sr;
    std::vector<double> t_engram, t_raw;
    for (int r = 0; r < std::max(o_.sweep_reps, 3); ++r) {
      t_engram.push_back(time_s([&] { sr = mem->search(q, {.k = k}); }));
      t_raw.push_back(time_s([&] { raw.search(nq, queries_.data(), k, ef, labels.data()); }));
    }
    const auto rows = to_rows(sr.ids, first);
    Measurement m;
    m.area = "hnswlib_backend";
    m.index = cfg.index;
    m.metric = "search_qps_k10_ef64";
    m.a = nq / best(t_engram);
    m.b = nq / best(t_raw);
    m.target = 0.8;
    m.extra = {{"recall10_engram", recall_at(k, rows.data(), k, truth_, truth_k_, nq)},
               {"recall10_raw", recall_at(k, labels.data(), k, truth_, truth_k_, nq)},
               {"engram_insert_s", insert_s}};
    rep_->add(m);
    db_->drop_memory(mem->name());
  }

  Options o_;
  Reporter* rep_;
  std::vector<float> keys_, values_, queries_, write_values_;
  std::vector<std::int64_t> truth_;
  int truth_k_ = 0;
  std::string engram_dir_, raw_dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<rocksdb::DB> rocks_;
  std::vector<Side> sides_;
};

std::vector<int> to_ints(const std::vector<std::string>& v) {
  std::vector<int> out;
  for (const auto& s : v) out.push_back(std::stoi(s));
  return out;
}

}  // namespace

int run_core(Args& args) {
  Options o;
  o.n = static_cast<std::size_t>(args.num("n", 1000000));
  o.nq = static_cast<std::size_t>(args.num("queries", 1000));
  o.batch = static_cast<std::size_t>(args.num("batch", 10000));
  o.k = static_cast<int>(args.num("k", 32));
  o.write_k = static_cast<int>(args.num("write-k", 8));
  o.reps = static_cast<int>(args.num("reps", 5));
  o.latency_queries = static_cast<std::size_t>(args.num("latency-queries", 1000));
  o.latency_queries_flat = static_cast<std::size_t>(args.num("latency-queries-flat", 100));
  o.write_batches = static_cast<int>(args.num("write-batches", 3));
  o.sweep_reps = static_cast<int>(args.num("sweep-reps", 3));
  o.clusters = static_cast<int>(args.num("clusters", 1000));
  o.spread = args.real("spread", 0.12);
  o.seed = static_cast<std::uint64_t>(args.num("seed", 42));
  o.indexes = args.list("index", "Flat,HNSW32");
  o.sections = args.list("sections", "insert,read,latency,write,reopen,hnsw");
  o.hnswlib_m = to_ints(args.list("hnswlib-m", "16,32"));
  o.ef_sweep = to_ints(args.list("ef", "10,16,24,32,48,64,96,128,192,256"));
  o.ef_construction = static_cast<int>(args.num("ef-construction", engram::index::kDefaultEfConstruction));
  o.dir = args.str("dir", (fs::temp_directory_path() / ("engram-bench-" + std::to_string(::getpid()))).string());
  o.keep = args.flag("keep");
  const std::string out = args.str("out", "");
  const bool verbose = args.flag("verbose");
  const int threads = static_cast<int>(args.num("threads", 0));
  args.check_all_used();
  if (o.n == 0 || o.nq == 0 || o.batch == 0 || o.reps < 1 || o.indexes.empty()) {
    throw std::invalid_argument("--n, --queries, --batch, --reps and --index must be positive / non-empty");
  }
  if (threads > 0) omp_set_num_threads(threads);
  if (!verbose) spdlog::set_level(spdlog::level::warn);  // Engram's info lines would mix with the JSON

  nlohmann::ordered_json ctx = {{"n", o.n}};
  Reporter rep("core", out, ctx);
  nlohmann::ordered_json m = machine_info();
  m["what"] = "machine";
  m["faiss"] = std::to_string(FAISS_VERSION_MAJOR) + "." + std::to_string(FAISS_VERSION_MINOR) + "." +
               std::to_string(FAISS_VERSION_PATCH);
  m["rocksdb"] = std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) + "." +
                 std::to_string(ROCKSDB_PATCH);
  m["hnswlib_simd"] = HnswlibIndex::simd();
  m["dir"] = o.dir;
  rep.info(m);
  return run_measured(rep, o.dir, o.keep, [&] { CoreBench(o, &rep).run(); });
}

}  // namespace engram::bench
