// engram-bench-ingest — bulk ingest into Engram vs the raw parts it is built from, same run.
//
// For each index spec: (1) raw: FAISS index_factory, trained on the same sample size, fed the
// keys file in the same batches; plus a raw RocksDB bulk load of the same key and value bytes
// (SstFileWriter + IngestExternalFile); (2) Engram: the ingest pipeline (engram ingest) into a
// fresh database. Each side runs in its own child process so its peak RSS is its own.
//
//   engram-bench-ingest --n 1000000 --dim 128 --index Flat --index HNSW32 --index IVF1024,Flat
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <faiss/Index.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/sst_file_writer.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engram/bulk_load.h"
#include "bench/hnswlib_runner.h"
#include "engram/engram.h"
#include "index/vector_index.h"
#include "ingest/pipeline.h"
#include "ingest/vector_file.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// n × dim points around 1000 centres, as embeddings tend to be.
void write_dataset(const std::string& path, std::size_t n, std::size_t dim, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> centres(1000 * dim);
  for (auto& x : centres) x = g(rng);
  engram::ingest::VecsWriter w(path);
  std::vector<float> row(dim);
  std::uniform_int_distribution<std::size_t> pick(0, 999);
  for (std::size_t i = 0; i < n; ++i) {
    const float* c = centres.data() + pick(rng) * dim;
    for (std::size_t d = 0; d < dim; ++d) row[d] = c[d] + 0.3f * g(rng);
    w.write_floats(row.data(), 1, dim);
  }
  w.close();
}

// This process's peak resident set so far (VmHWM), KiB.
long peak_rss_kib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  long kib = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib;
}

// The time of fn run in a child, and the child's peak RSS (KiB). fn returns seconds measured.
struct Run {
  double seconds = -1;
  long rss_kib = 0;
};
template <typename Fn>
Run in_child(Fn fn) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    double s = -1;
    try {
      s = fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "failed: %s\n", e.what());
    }
    if (write(fds[1], &s, sizeof s) != sizeof s) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  Run r;
  if (read(fds[0], &r.seconds, sizeof r.seconds) != sizeof r.seconds) r.seconds = -1;
  close(fds[0]);
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  r.rss_kib = ru.ru_maxrss;
  return r;
}

// Raw FAISS: train (same sample rule as Engram: 39 points per centroid, spread over the file),
// then add the file in 64k batches. Returns the build time; *write_s gets the time of then
// persisting the index as a raw user would (faiss::write_index to `write_path`, fsync), the
// counterpart of Engram's finish checkpoint.
// For an HNSWlib<M> spec the raw side is hnswlib itself (efConstruction 200 like Engram's default,
// all OpenMP threads), saved with its own saveIndex.
double raw_hnswlib(const std::string& keys_path, const std::string& spec, const std::string& write_path,
                   double* write_s) {
  const auto t = Clock::now();
  auto keys = engram::ingest::VectorReader::open(keys_path);
  engram::bench::HnswlibIndex index(static_cast<int>(keys->dim()), keys->count(), std::stoi(spec.substr(7)),
                                    engram::index::kDefaultEfConstruction, 100);
  std::vector<float> batch;
  for (std::size_t done = 0;;) {
    batch.clear();
    const std::size_t n = keys->read(65536, &batch);
    if (n == 0) break;
    index.add(n, batch.data(), done);
    done += n;
  }
  const double build_s = since(t);
  const auto w = Clock::now();
  index.save(write_path);
  const int fd = ::open(write_path.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) throw std::runtime_error("fsync " + write_path);
  ::close(fd);
  *write_s = since(w);
  return build_s;
}

double raw_faiss(const std::string& keys_path, const std::string& spec, std::size_t train_rows,
                 const std::string& write_path, double* write_s) {
  if (spec.rfind("HNSWlib", 0) == 0) return raw_hnswlib(keys_path, spec, write_path, write_s);
  const auto t = Clock::now();
  auto keys = engram::ingest::VectorReader::open(keys_path);
  std::unique_ptr<faiss::Index> index(faiss::index_factory(static_cast<int>(keys->dim()), spec.c_str(),
                                                           faiss::METRIC_INNER_PRODUCT));
  if (!index->is_trained) {
    std::vector<float> sample;
    auto r = engram::ingest::VectorReader::open(keys_path);
    for (std::size_t i = 0; i < train_rows; ++i) {
      r->seek(static_cast<std::uint64_t>(static_cast<double>(i) * r->count() / train_rows));
      r->read(1, &sample);
    }
    index->train(static_cast<faiss::Index::idx_t>(train_rows), sample.data());
  }
  std::vector<float> batch;
  while (true) {
    batch.clear();
    const std::size_t n = keys->read(65536, &batch);
    if (n == 0) break;
    index->add(static_cast<faiss::Index::idx_t>(n), batch.data());
  }
  const double build_s = since(t);
  const auto w = Clock::now();
  faiss::write_index(index.get(), write_path.c_str());
  const int fd = ::open(write_path.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) throw std::runtime_error("fsync " + write_path);
  ::close(fd);
  *write_s = since(w);
  return build_s;
}

// Raw RocksDB: the same key and value bytes, keyed the same way, as SST files ingested in one go.
double raw_rocksdb(const std::string& keys_path, const std::string& values_path, const std::string& dir) {
  const auto t = Clock::now();
  rocksdb::Options o;
  o.create_if_missing = true;
  o.compression = rocksdb::kNoCompression;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(o, dir + "/db", &raw).ok()) throw std::runtime_error("open raw rocksdb");
  std::unique_ptr<rocksdb::DB> db(raw);
  auto keys = engram::ingest::VectorReader::open(keys_path);
  auto values = engram::ingest::VectorReader::open(values_path);
  std::vector<std::string> files;
  std::vector<float> kb, vb;
  std::uint64_t id = 0;
  for (int part = 0;; ++part) {
    kb.clear();
    vb.clear();
    const std::size_t n = keys->read(65536, &kb);
    values->read(n, &vb);
    if (n == 0) break;
    // Two files per chunk (the "k" and "v" prefixes keep each sorted), as Engram writes per family.
    for (int which = 0; which < 2; ++which) {
      rocksdb::SstFileWriter w(rocksdb::EnvOptions(), o);
      const std::string f = dir + "/part" + std::to_string(part) + (which ? "v" : "k") + ".sst";
      if (!w.Open(f).ok()) throw std::runtime_error("sst open");
      const std::vector<float>& src = which ? vb : kb;
      const std::size_t dim = which ? values->dim() : keys->dim();
      for (std::size_t i = 0; i < n; ++i) {
        std::string key(which ? "v" : "k");
        for (int s = 56; s >= 0; s -= 8) key.push_back(static_cast<char>(((id + i) >> s) & 0xff));
        w.Put(key, rocksdb::Slice(reinterpret_cast<const char*>(src.data() + i * dim), dim * 4));
      }
      if (!w.Finish().ok()) throw std::runtime_error("sst finish");
      files.push_back(f);
    }
    id += n;
    // Ingest per chunk, as a bounded-memory load must (and as Engram does).
    rocksdb::IngestExternalFileOptions io;
    io.move_files = true;
    if (!db->IngestExternalFile({files[files.size() - 2], files.back()}, io).ok()) {
      // Files of one call must not overlap: ingest them one by one.
      for (std::size_t i = files.size() - 2; i < files.size(); ++i) {
        if (!db->IngestExternalFile({files[i]}, io).ok()) throw std::runtime_error("ingest");
      }
    }
  }
  return since(t);
}

// Seconds from opening the database until every chunk is durable and indexed; *finish_s gets
// the finish step that follows (job record + index checkpoint), *close_s the close, and
// *ingest_rss_kib the peak RSS until the last chunk committed.
double engram_ingest(const std::string& keys_path, const std::string& values_path,
                     const std::string& dir, const std::string& spec, const engram::ingest::IngestOptions& options,
                     double* finish_s, double* close_s, long* ingest_rss_kib) {
  const auto t = Clock::now();
  auto db = engram::Database::open(dir);
  auto source = engram::ingest::RecordSource::open(keys_path, values_path);
  engram::MemoryConfig cfg;
  cfg.key_dim = static_cast<int>(source->key_dim());
  cfg.value_dim = static_cast<int>(source->value_dim());
  cfg.index = spec;
  auto mem = db->create_memory("bench", cfg);
  engram::ingest::IngestOptions o = options;
  o.progress = engram::ingest::Progress::Mode::kLines;
  o.progress_every_s = 10;
  long hwm_kib = 0;  // peak RSS when the last chunk has committed (before the finish step)
  o.on_commit = [&](std::uint64_t) { hwm_kib = peak_rss_kib(); };
  auto r = engram::ingest::ingest(*db, mem, *source, o);
  const double s = since(t) - r.finish_seconds;
  if (finish_s) *finish_s = r.finish_seconds;
  if (ingest_rss_kib) *ingest_rss_kib = hwm_kib;
  std::fprintf(stderr,
               "engram %s: every chunk durable + indexed after %.1f s, then finish (job record + index "
               "checkpoint) %.1f s; stages busy: read %.1f s, prepare %.1f s, commit+index %.1f s, train %.1f s\n",
               spec.c_str(), s, r.finish_seconds, r.read_seconds, r.prepare_seconds, r.commit_seconds,
               r.train_seconds);
  if (r.slots != *source->total_records() || mem->stats().indexed != r.slots) throw std::runtime_error("ingest count mismatch");
  const auto c = Clock::now();
  mem.reset();
  db.reset();  // checkpoint of the index
  if (close_s) *close_s = since(c);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"engram-bench-ingest: Engram bulk ingest vs raw FAISS + raw RocksDB"};
  std::size_t n = 1000000, dim = 128;
  std::vector<std::string> specs;
  std::string dir = "/tmp/engram-bench-ingest";
  app.add_option("--n", n, "Vectors")->capture_default_str();
  app.add_option("--dim", dim, "Key and value dimension")->capture_default_str();
  app.add_option("--index", specs, "FAISS factory string or HNSWlib<M> (repeat)")->take_all()->delimiter('+');
  app.add_option("--dir", dir, "Scratch folder (deleted first)")->capture_default_str();
  bool keep_data = false;
  engram::ingest::IngestOptions ingest_options;
  app.add_option("--chunk-rows", ingest_options.chunk_rows, "Engram's rows per chunk (0: its default)")
      ->capture_default_str();
  app.add_option("--queue-depth", ingest_options.queue_depth, "Engram's chunks queued between stages")
      ->capture_default_str();
  app.add_flag("--keep-data", keep_data,
               "Keep the generated keys/values files in --dir and reuse them when they match --n/--dim");
  CLI11_PARSE(app, argc, argv);
  if (specs.empty()) specs = {"Flat", "HNSW32", "IVF1024,Flat"};

  const std::string keys = dir + "/keys.fvecs", values = dir + "/values.fvecs";
  const std::uintmax_t want_bytes = n * (4 + dim * 4);
  std::error_code ec;
  const bool reuse = keep_data && fs::file_size(keys, ec) == want_bytes && !ec &&
                     fs::file_size(values, ec) == want_bytes && !ec;
  if (!reuse) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::fprintf(stderr, "writing %zu x %zu keys and values...\n", n, dim);
    write_dataset(keys, n, dim, 1);
    write_dataset(values, n, dim, 2);
  }

  std::printf("| index | n | raw FAISS s | raw RocksDB s | raw total s | Engram s | ratio | Engram finish s | ratio with finish | raw write_index s | ratio, both persist the index | Engram close s | raw peak RSS MiB | Engram peak RSS MiB, ingest | Engram peak RSS MiB, whole run |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  std::fflush(stdout);
  for (const auto& spec : specs) {
    // Engram's rule for the sample size (VectorIndex::auto_train_points), asked of Engram itself
    // in a child: a RocksDB opened here would leave its thread pools broken in later children.
    const std::size_t train_rows = static_cast<std::size_t>(in_child([&] {
      engram::MemoryConfig cfg;
      cfg.key_dim = cfg.value_dim = static_cast<int>(dim);
      cfg.index = spec;
      auto tmp = engram::Database::open(dir + "/probe");
      engram::BulkLoader l(*tmp, tmp->create_memory("p", cfg));
      return static_cast<double>(l.wanted_sample_rows());
    }).seconds);
    fs::remove_all(dir + "/probe");
    double raw_write_s = -1;
    int write_pipe[2];
    if (pipe(write_pipe) != 0) return 1;
    const Run f = in_child([&] {
      double w = 0;
      const double s = raw_faiss(keys, spec, train_rows, dir + "/raw.faiss", &w);
      if (write(write_pipe[1], &w, sizeof w) != sizeof w) _exit(1);
      return s;
    });
    if (f.seconds < 0 || read(write_pipe[0], &raw_write_s, sizeof raw_write_s) != sizeof raw_write_s) raw_write_s = -1;
    close(write_pipe[0]);
    close(write_pipe[1]);
    fs::remove(dir + "/raw.faiss");
    fs::remove_all(dir + "/raw");
    fs::create_directories(dir + "/raw");
    const Run r = in_child([&] { return raw_rocksdb(keys, values, dir + "/raw"); });
    fs::remove_all(dir + "/raw");
    // The child reports its finish and close times through a pipe.
    double extra[3] = {-1, -1, -1};  // finish, close, peak RSS KiB until the last commit
    int extra_pipe[2];
    if (pipe(extra_pipe) != 0) return 1;
    fs::remove_all(dir + "/engram");
    const Run e = in_child([&] {
      double x[3] = {0, 0, 0};
      long hwm = 0;
      const double s = engram_ingest(keys, values, dir + "/engram", spec, ingest_options, &x[0], &x[1], &hwm);
      x[2] = static_cast<double>(hwm);
      if (write(extra_pipe[1], x, sizeof x) != sizeof x) _exit(1);
      return s;
    });
    if (e.seconds < 0 || read(extra_pipe[0], extra, sizeof extra) != sizeof extra) extra[0] = extra[1] = extra[2] = -1;
    close(extra_pipe[0]);
    close(extra_pipe[1]);
    fs::remove_all(dir + "/engram");
    const double raw = f.seconds + r.seconds;
    std::printf("| %s | %zu | %.1f | %.1f | %.1f | %.1f | **%.2f** | %.1f | %.2f | %.1f | **%.2f** | %.1f | %ld | %ld | %ld |\n", spec.c_str(),
                n, f.seconds, r.seconds, raw, e.seconds, e.seconds / raw, extra[0], (e.seconds + extra[0]) / raw,
                raw_write_s, (e.seconds + extra[0]) / (raw + raw_write_s), extra[1], std::max(f.rss_kib, r.rss_kib) / 1024, static_cast<long>(extra[2]) / 1024, e.rss_kib / 1024);
    std::fflush(stdout);
  }
  if (!keep_data) fs::remove_all(dir);
  return 0;
}
