#include "ingest/pipeline.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "engram/bulk_load.h"
#include "engram/error.h"
#include "engram/memory.h"
#include "ingest/bounded_queue.h"

namespace engram::ingest {
namespace {

using nlohmann::json;

json files_json(const std::vector<FileIdentity>& files) {
  json a = json::array();
  for (const auto& f : files) a.push_back({{"path", f.path}, {"size", f.size}, {"mtime_ns", f.mtime_ns}});
  return a;
}

// The job state stored with every chunk: which input, and how far it is done.
std::string job_state(const std::vector<FileIdentity>& files, std::uint64_t records, std::uint64_t offset) {
  return json({{"files", files_json(files)}, {"records", records}, {"offset", offset}}).dump();
}

bool same_files(const json& state, const std::vector<FileIdentity>& files) {
  if (!state.contains("files") || state["files"].size() != files.size()) return false;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const json& f = state["files"][i];
    if (f.value("size", std::uint64_t{0}) != files[i].size || f.value("mtime_ns", std::int64_t{0}) != files[i].mtime_ns) return false;
  }
  return true;
}

std::string describe_files(const json& state) {
  std::string s;
  for (const auto& f : state.value("files", json::array())) s += (s.empty() ? "" : " + ") + f.value("path", std::string("?"));
  return s;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

struct Prepared {
  PreparedChunk chunk;
  std::uint64_t records_end = 0, offset_end = 0;
};

// The first failure of any stage; the other stages see it and stop.
class FirstError {
 public:
  void set(std::exception_ptr e) {
    std::lock_guard<std::mutex> l(mu_);
    if (!e_) e_ = e;
  }
  std::exception_ptr get() {
    std::lock_guard<std::mutex> l(mu_);
    return e_;
  }

 private:
  std::mutex mu_;
  std::exception_ptr e_;
};

}  // namespace

std::size_t chunk_rows_for(const IngestOptions& o, std::size_t key_dim, std::size_t value_dim) {
  if (o.chunk_rows > 0) return o.chunk_rows;
  const std::size_t row = (key_dim + value_dim) * sizeof(float);
  return std::max<std::size_t>(1024, (std::size_t{64} << 20) / row);
}

void abort_interrupted(Database& db, std::shared_ptr<Memory> memory) {
  BulkLoader loader(db, memory, /*resume=*/true);
  if (!loader.pending_job()) {
    throw Error(ErrorCode::kFailedPrecondition, "memory '" + memory->name() + "' holds no interrupted ingest");
  }
  loader.abort();
}

IngestReport ingest(Database& db, std::shared_ptr<Memory> memory, RecordSource& source,
                    const IngestOptions& o) {
  IngestReport report;
  const MemoryConfig cfg = memory->config();
  if (source.key_dim() != static_cast<std::size_t>(cfg.key_dim) ||
      source.value_dim() != static_cast<std::size_t>(cfg.value_dim)) {
    const auto files = source.files();
    throw Error(ErrorCode::kInvalidArgument,
                files.front().path + ": records are " + std::to_string(source.key_dim()) + " → " +
                    std::to_string(source.value_dim()) + " dimensions, memory '" + memory->name() +
                    "' holds " + std::to_string(cfg.key_dim) + " → " + std::to_string(cfg.value_dim));
  }
  const std::vector<FileIdentity> files = source.files();
  BulkLoader loader(db, memory, /*resume=*/true);  // a pending job is judged below, by us
  std::uint64_t resumed_offset = 0;

  if (loader.pending_job()) {
    const json state = json::parse(*loader.pending_job());
    if (!o.resume) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "memory '" + memory->name() + "' holds an interrupted ingest of " +
                      describe_files(state) + " (" + std::to_string(state.value("records", 0)) +
                      " records done): run again with --resume to finish it, or --abort to undo it");
    }
    if (!same_files(state, files)) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "the interrupted ingest of memory '" + memory->name() + "' loads " +
                      describe_files(state) + ", and the file(s) given now differ (size or time); "
                      "resume with the same file(s), or --abort");
    }
    report.resumed_from = state.value("records", std::uint64_t{0});
    resumed_offset = state.value("offset", std::uint64_t{0});
    source.skip_to(report.resumed_from, resumed_offset);
  } else if (o.resume && loader.finished_job() && same_files(json::parse(*loader.finished_job()), files)) {
    report.already_done = true;
    report.records_done = json::parse(*loader.finished_job()).value("records", std::uint64_t{0});
    return report;
  }

  Progress progress(o.progress,
                    source.total_records() ? std::optional<std::uint64_t>(*source.total_records() - report.resumed_from)
                                           : std::nullopt,
                    source.total_bytes(), stderr, o.progress_every_s);

  // Trained index types learn their centroids from a sample of the whole input first, so every
  // chunk is indexed as it commits (rather than all of it at once when enough has arrived).
  if (const std::size_t want = loader.wanted_sample_rows(); want > 0 && !memory->stats().trained) {
    const bool enough = !source.total_records() || *source.total_records() >= want;
    if (enough) {
      std::vector<float> sample = source.sample_keys(want);
      if (sample.size() / cfg.key_dim >= want) {
        loader.train(MatrixView(sample, static_cast<std::size_t>(cfg.key_dim)));
        report.train_seconds = progress.seconds();
      }
    }
  }

  const std::size_t rows = chunk_rows_for(o, source.key_dim(), source.value_dim());
  if (source.total_records() && *source.total_records() > report.resumed_from) {
    loader.reserve(static_cast<std::size_t>(*source.total_records() - report.resumed_from));
  }
  // Row buffers of committed chunks, handed back to the reader: each chunk after the first few
  // is parsed into memory already mapped (no page faults, no zeroing by the kernel). How many
  // exist is bounded by the chunks in flight (the queues).
  std::mutex spare_mu;
  std::vector<Batch> spare;
  auto take_spare = [&] {
    std::lock_guard<std::mutex> l(spare_mu);
    Batch b;
    if (!spare.empty()) {
      b = std::move(spare.back());
      spare.pop_back();
    }
    return b;
  };
  BoundedQueue<Batch> parsed(o.queue_depth);
  BoundedQueue<Prepared> ready(o.queue_depth);
  FirstError error;
  auto stopping = [&] { return o.stop && o.stop->load(); };
  auto fail = [&](std::exception_ptr e) {
    error.set(e);
    parsed.cancel();
    ready.cancel();
  };

  std::thread reader([&] {
    try {
      while (!stopping()) {
        Batch b = take_spare();
        const auto t = std::chrono::steady_clock::now();
        const bool more = source.next(rows, &b);
        report.read_seconds += seconds_since(t);
        if (!more) break;
        // Bulk loads make new slots only: an external_id asks for a slot replaced if it exists.
        if (!b.external_ids.empty())
          throw Error(ErrorCode::kInvalidArgument, "the records carry \"external_id\": load them with --upsert (insert or replace by it)");
        if (!parsed.push(std::move(b))) break;
      }
      parsed.close();
    } catch (...) {
      fail(std::current_exception());
    }
  });
  std::thread preparer([&] {
    try {
      while (auto b = parsed.pop()) {
        const auto t = std::chrono::steady_clock::now();
        Prepared p{loader.prepare(std::move(b->keys), std::move(b->values), std::move(b->payloads)),
                   b->records_end, b->offset_end};
        report.prepare_seconds += seconds_since(t);
        if (!ready.push(std::move(p))) break;
      }
      ready.close();
    } catch (...) {
      fail(std::current_exception());
    }
  });

  std::uint64_t records = report.resumed_from, offset = resumed_offset;
  try {
    while (auto p = ready.pop()) {
      if (stopping()) break;
      const std::size_t n = p->chunk.rows();
      const auto t = std::chrono::steady_clock::now();
      ChunkBuffers spent;
      loader.commit(std::move(p->chunk), job_state(files, p->records_end, p->offset_end), &spent);
      report.commit_seconds += seconds_since(t);
      {
        Batch b;
        b.keys = std::move(spent.keys);
        b.values = std::move(spent.values);
        b.payloads = std::move(spent.payloads);
        std::lock_guard<std::mutex> l(spare_mu);
        spare.push_back(std::move(b));
      }
      report.slots += n;
      records = p->records_end;
      offset = p->offset_end;
      progress.update(report.slots, offset);
      if (o.on_commit) o.on_commit(records);
    }
  } catch (...) {
    fail(std::current_exception());
  }
  if (stopping()) {
    parsed.cancel();
    ready.cancel();
  }
  reader.join();
  preparer.join();
  spare = {};  // free the row buffers before the finish step's checkpoint needs the memory
  progress.finish();
  report.records_done = records;

  if (auto e = error.get()) {
    // Nothing of a job with bad input may stay visible: undo every chunk it committed.
    try {
      loader.abort();
    } catch (const std::exception& undo) {
      spdlog::error("ingest: undoing the failed ingest failed too ({}); run again with --abort", undo.what());
    }
    std::rethrow_exception(e);
  }
  if (stopping()) {
    report.interrupted = true;
    report.seconds = progress.seconds();
    return report;
  }
  report.seconds = progress.seconds();  // durable (each chunk) and searchable (indexed)
  loader.finish(job_state(files, records, offset));
  report.finish_seconds = progress.seconds() - report.seconds;
  return report;
}

}  // namespace engram::ingest
