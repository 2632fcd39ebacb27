// bench/ann_bench.cc — `engram-bench ann`: every index type at equal recall, Engram beside the
// raw library it is built on, in one process, on the same keys.
//
// For each --index entry, Engram's memory and the raw index of the same kind are built from the
// same keys in the same order with the same M, efConstruction and threads: raw hnswlib for
// HNSWlib<M> (compiled with -march=native when ENGRAM_BENCH_HNSWLIB_NATIVE=ON), raw FAISS for a
// FAISS string. Each side is swept over its own search setting (efSearch for graphs, nprobe for
// IVF, none for Flat) to the smallest value reaching recall@10 ≥ --recall (0.95). At those
// settings, interleaved (A B, B A, ...), best of --reps:
//   search_batch   Engram search of all --queries in one call vs the raw batch search (q/s)
//   search_single  the same queries, one call each (q/s)
//   read_batch     Engram read (search + values + softmax) vs the raw bare batch search (q/s)
//   read_single    the same, one query a call (q/s)
//   build          Engram insert (batches of --batch, sync off) vs the raw build (s)
// (--reps rounds at least, more while a round takes under 2 s.)
#include <faiss/Index.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/index_factory.h>
#include <omp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "bench/common.h"
#include "bench/data.h"
#include "bench/hnswlib_runner.h"
#include "engram/engram.h"
#include "index/hnswlib_index.h"
#include "index/vector_index.h"

namespace fs = std::filesystem;

namespace engram::bench {
namespace {

constexpr int kK = 10;

enum class Knob { kNone, kEf, kNprobe };

Knob knob_of(const std::string& factory) {
  if (factory.find("IVF") != std::string::npos) return Knob::kNprobe;
  if (factory.find("HNSW") != std::string::npos) return Knob::kEf;
  return Knob::kNone;
}

const char* knob_name(Knob k) { return k == Knob::kEf ? "ef" : k == Knob::kNprobe ? "nprobe" : "none"; }

std::vector<int> sweep_of(Knob k) {
  if (k == Knob::kEf) return {10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 192, 256, 384, 512};
  if (k == Knob::kNprobe) return {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024};
  return {0};
}

double best(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

// The raw library's index of one kind: built once, searched with one setting per call.
class RawIndex {
 public:
  virtual ~RawIndex() = default;
  virtual std::string name() const = 0;
  // Builds from n keys; `train_rows` are the first rows an index that trains is trained on.
  virtual void build(const float* keys, std::size_t n, std::size_t train_rows) = 0;
  virtual void search(std::size_t nq, const float* queries, int setting, std::int64_t* labels) = 0;
};

class RawHnswlib final : public RawIndex {
 public:
  RawHnswlib(int dim, std::size_t n, int M, int efc, std::uint64_t seed) : index_(dim, n, M, efc, seed) {}
  std::string name() const override { return "hnswlib-" + HnswlibIndex::simd(); }
  void build(const float* keys, std::size_t n, std::size_t) override { index_.add(n, keys); }
  void search(std::size_t nq, const float* queries, int ef, std::int64_t* labels) override {
    index_.search(nq, queries, kK, ef, labels);
  }

 private:
  HnswlibIndex index_;
};

class RawFaiss final : public RawIndex {
 public:
  RawFaiss(int dim, const std::string& factory, int efc)
      : index_(faiss::index_factory(dim, factory.c_str(), faiss::METRIC_INNER_PRODUCT)) {
    if (auto* g = dynamic_cast<faiss::IndexHNSW*>(index_.get())) g->hnsw.efConstruction = efc;
  }
  std::string name() const override { return "faiss"; }
  void build(const float* keys, std::size_t n, std::size_t train_rows) override {
    if (!index_->is_trained) index_->train(static_cast<faiss::Index::idx_t>(train_rows), keys);
    index_->add(static_cast<faiss::Index::idx_t>(n), keys);
  }
  void search(std::size_t nq, const float* queries, int setting, std::int64_t* labels) override {
    // This index is the bench's own: its settings are set in place, as a raw user would.
    if (auto* g = dynamic_cast<faiss::IndexHNSW*>(index_.get())) g->hnsw.efSearch = setting;
    if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(index_.get())) ivf->nprobe = static_cast<std::size_t>(setting);
    scores_.resize(nq * kK);
    std::vector<faiss::Index::idx_t> got(nq * kK);
    index_->search(static_cast<faiss::Index::idx_t>(nq), queries, kK, scores_.data(), got.data());
    std::copy(got.begin(), got.end(), labels);
  }

 private:
  std::unique_ptr<faiss::Index> index_;
  std::vector<float> scores_;
};

struct Options {
  std::size_t n = 0, nq = 0, batch = 0;
  int reps = 3, clusters = 1000, ef_construction = 200;
  double spread = 0.12, recall = 0.95;
  std::uint64_t seed = 42;
  std::vector<std::string> indexes;
  std::string dir;
  bool keep = false;
};

class AnnBench {
 public:
  AnnBench(Options o, Reporter* rep) : o_(std::move(o)), rep_(rep) {}

  void run() {
    Mixture mix(kDim, o_.clusters, static_cast<float>(o_.spread), o_.seed);
    keys_ = mix.sample(o_.n, 1);
    queries_ = mix.sample(o_.nq, 2);
    values_ = random_unit(o_.n, kDim, o_.seed + 3);
    truth_ = exact_topk(keys_.data(), o_.n, queries_.data(), o_.nq, kDim, kK);
    fs::create_directories(o_.dir);
    db_ = Database::open((fs::path(o_.dir) / "engram").string());
    for (const auto& factory : o_.indexes) one_index(factory);
  }

 private:
  static constexpr int kDim = 128;

  void one_index(const std::string& factory) {
    const Knob knob = knob_of(factory);
    MemoryConfig cfg;
    cfg.key_dim = kDim;
    cfg.value_dim = kDim;
    cfg.index = factory;
    if (knob == Knob::kEf && factory.find("IVF") == std::string::npos) cfg.ef_construction = o_.ef_construction;
    auto mem = db_->create_memory("m" + std::to_string(++memories_), cfg);

    SlotId first = kNoSlot;
    const double engram_build_s = time_s([&] {
      first = insert_in_batches(*mem, keys_.data(), kDim, values_.data(), kDim, o_.n, o_.batch);
      if (!mem->stats().trained) mem->train();
    });
    // The raw side trains on the rows Engram's memory trained on: it trains itself once it
    // holds auto_train_points() keys, which the batch that crosses that count completes.
    std::size_t train_rows = o_.n;
    {
      index::IndexSpec spec;
      spec.dim = kDim;
      spec.factory = factory;
      if (!index::is_hnswlib_factory(factory)) {
        const std::size_t at = index::VectorIndex::create(spec)->auto_train_points();
        if (at > 0 && at <= o_.n) train_rows = std::min(o_.n, (at + o_.batch - 1) / o_.batch * o_.batch);
      }
    }
    std::unique_ptr<RawIndex> raw;
    if (index::is_hnswlib_factory(factory)) {
      raw = std::make_unique<RawHnswlib>(kDim, o_.n, std::stoi(factory.substr(7)), o_.ef_construction, o_.seed);
    } else {
      raw = std::make_unique<RawFaiss>(kDim, factory, o_.ef_construction);
    }
    const double raw_build_s = time_s([&] { raw->build(keys_.data(), o_.n, train_rows); });

    // The smallest setting of each side reaching the recall target.
    std::vector<std::int64_t> labels(o_.nq * kK);
    auto engram_search = [&](std::size_t nq, const float* q, int setting, bool read) {
      SearchOptions opt{.k = kK};
      if (knob == Knob::kEf) opt.ef = setting;
      if (knob == Knob::kNprobe) opt.nprobe = setting;
      const MatrixView view(q, nq, kDim);
      return read ? mem->read(view, opt).ids : mem->search(view, opt).ids;
    };
    auto engram_recall = [&](int setting) {
      const auto ids = engram_search(o_.nq, queries_.data(), setting, false);
      std::vector<std::int64_t> rows(ids.size());
      for (std::size_t i = 0; i < ids.size(); ++i) rows[i] = ids[i] == kNoSlot ? -1 : static_cast<std::int64_t>(ids[i] - first);
      return recall_at(kK, rows.data(), kK, truth_, kK, o_.nq);
    };
    auto raw_recall = [&](int setting) {
      raw->search(o_.nq, queries_.data(), setting, labels.data());
      return recall_at(kK, labels.data(), kK, truth_, kK, o_.nq);
    };
    const auto [engram_setting, engram_rec] = smallest_setting(knob, engram_recall, factory, "engram");
    const auto [raw_setting, raw_rec] = smallest_setting(knob, raw_recall, factory, raw->name());

    // Interleaved timings at those settings.
    const std::size_t single_n = knob == Knob::kNone ? std::max<std::size_t>(1, o_.nq / 10) : o_.nq;
    std::vector<double> eb, es, rb, rs, xb, xs;
    // At least --reps rounds, and more (up to 30) while a round is short: the best of many short
    // rounds is what survives a shared machine's noise.
    auto spent = [](const std::vector<double>& t) { double sum = 0; for (double x : t) sum += x; return sum; };
    for (int r = 0; r < o_.reps || (r < 30 && spent(eb) + spent(es) < 2.0); ++r) {
      auto engram_batch = [&] { eb.push_back(time_s([&] { engram_search(o_.nq, queries_.data(), engram_setting, false); })); };
      auto engram_single = [&] {
        es.push_back(time_s([&] {
          for (std::size_t q = 0; q < single_n; ++q) engram_search(1, queries_.data() + q * kDim, engram_setting, false);
        }));
      };
      auto read_batch = [&] { xb.push_back(time_s([&] { engram_search(o_.nq, queries_.data(), engram_setting, true); })); };
      auto read_single = [&] {
        xs.push_back(time_s([&] {
          for (std::size_t q = 0; q < single_n; ++q) engram_search(1, queries_.data() + q * kDim, engram_setting, true);
        }));
      };
      auto raw_batch = [&] { rb.push_back(time_s([&] { raw->search(o_.nq, queries_.data(), raw_setting, labels.data()); })); };
      auto raw_single = [&] {
        rs.push_back(time_s([&] {
          for (std::size_t q = 0; q < single_n; ++q) raw->search(1, queries_.data() + q * kDim, raw_setting, labels.data());
        }));
      };
      if (r % 2 == 0) {
        engram_batch(), raw_batch(), read_batch(), engram_single(), raw_single(), read_single();
      } else {
        raw_single(), read_single(), engram_single(), raw_batch(), read_batch(), engram_batch();
      }
    }
    const nlohmann::ordered_json extra = {
        {"knob", knob_name(knob)},         {"engram_setting", engram_setting}, {"raw_setting", raw_setting},
        {"engram_recall10", engram_rec},   {"raw_recall10", raw_rec},          {"raw", raw->name()},
        {"single_queries", single_n},      {"simd", simd_level()}};
    const bool flat = knob == Knob::kNone;
    report(factory, "search_batch_qps", o_.nq / best(eb), o_.nq / best(rb), true, flat ? 0.95 : 0.9, extra);
    report(factory, "search_single_qps", single_n / best(es), single_n / best(rs), true, flat ? 0.95 : 0.9, extra);
    report(factory, "read_batch_qps", o_.nq / best(xb), o_.nq / best(rb), true, 0.8, extra);
    report(factory, "read_single_qps", single_n / best(xs), single_n / best(rs), true, 0.8, extra);
    report(factory, "build_s", engram_build_s, raw_build_s, false, 0, extra);
    db_->drop_memory(mem->name());
  }

  template <typename RecallFn>
  std::pair<int, double> smallest_setting(Knob knob, RecallFn&& recall_of, const std::string& factory,
                                          const std::string& side) {
    std::pair<int, double> found{0, 0};
    for (int setting : sweep_of(knob)) {
      found = {setting, recall_of(setting)};
      rep_->info({{"what", "sweep"}, {"index", factory}, {"side", side}, {knob_name(knob), setting},
                  {"recall10", found.second}});
      if (found.second >= o_.recall) break;
    }
    return found;
  }

  void report(const std::string& factory, const std::string& metric, double a, double b, bool higher,
              double target, const nlohmann::ordered_json& extra) {
    Measurement m;
    m.area = "ann";
    m.index = factory;
    m.metric = metric;
    m.a = a;
    m.b = b;
    m.b_name = extra.at("raw");
    m.higher_is_better = higher;
    m.target = target;
    m.extra = extra;
    rep_->add(m);
  }

  Options o_;
  Reporter* rep_;
  std::vector<float> keys_, values_, queries_;
  std::vector<std::int64_t> truth_;
  std::unique_ptr<Database> db_;
  int memories_ = 0;
};

}  // namespace

int run_ann(Args& args) {
  Options o;
  o.n = static_cast<std::size_t>(args.num("n", 100000));
  o.nq = static_cast<std::size_t>(args.num("queries", 1000));
  o.batch = static_cast<std::size_t>(args.num("batch", 10000));
  o.reps = static_cast<int>(args.num("reps", 3));
  o.clusters = static_cast<int>(args.num("clusters", 1000));
  o.spread = args.real("spread", 0.12);
  o.recall = args.real("recall", 0.95);
  o.seed = static_cast<std::uint64_t>(args.num("seed", 42));
  o.ef_construction = static_cast<int>(args.num("ef-construction", index::kDefaultEfConstruction));
  std::istringstream names(args.str("index", "HNSWlib32 Flat IVF1024,Flat"));
  for (std::string s; names >> s;) o.indexes.push_back(s);
  o.dir = args.str("dir", (fs::temp_directory_path() / ("engram-bench-ann-" + std::to_string(::getpid()))).string());
  o.keep = args.flag("keep");
  const std::string out = args.str("out", "");
  const int threads = static_cast<int>(args.num("threads", 0));
  const bool verbose = args.flag("verbose");
  args.check_all_used();
  if (o.n == 0 || o.nq == 0 || o.batch == 0 || o.reps < 1 || o.indexes.empty()) {
    throw std::invalid_argument("--n, --queries, --batch, --reps and --index must be positive / non-empty");
  }
  if (fs::exists(o.dir) && !fs::is_empty(o.dir)) throw std::runtime_error(o.dir + " exists and is not empty");
  if (threads > 0) omp_set_num_threads(threads);
  if (!verbose) spdlog::set_level(spdlog::level::warn);

  Reporter rep("ann", out, {{"n", o.n}});
  nlohmann::ordered_json m = machine_info();
  m["what"] = "machine";
  m["engram_simd"] = simd_level();
  m["hnswlib_simd"] = HnswlibIndex::simd();
  m["threads"] = omp_get_max_threads();
  rep.info(m);
  return run_measured(rep, o.dir, o.keep, [&] { AnnBench(o, &rep).run(); });
}

}  // namespace engram::bench
