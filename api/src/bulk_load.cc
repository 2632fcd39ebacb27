// engram::BulkLoader: validation, file preparation and the job record; the atomic step itself is
// MemoryCore::bulk_commit (memory_bulk.cc) over storage::ingest_chunk (storage/bulk_writer.cc).
#include "engram/bulk_load.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/src/memory_core.h"
#include "api/src/validation.h"
#include "engram/database.h"
#include "engram/error.h"
#include "engram/memory.h"
#include "storage/bulk_writer.h"

namespace fs = std::filesystem;

namespace engram {

struct PreparedChunk::Rep {
  std::unique_ptr<storage::BulkChunk> files;
  std::vector<float> keys, values;
  std::vector<std::string> payloads;
  std::size_t rows = 0;
};

PreparedChunk::PreparedChunk() = default;
PreparedChunk::~PreparedChunk() = default;
PreparedChunk::PreparedChunk(PreparedChunk&&) noexcept = default;
PreparedChunk& PreparedChunk::operator=(PreparedChunk&&) noexcept = default;
std::size_t PreparedChunk::rows() const { return rep_ ? rep_->rows : 0; }
std::uint64_t PreparedChunk::file_bytes() const { return rep_ && rep_->files ? rep_->files->file_bytes() : 0; }

struct BulkLoader::Rep {
  std::shared_ptr<Memory> memory;  // keeps the core alive
  detail::MemoryCore* core = nullptr;
  std::string dir;                 // <db>/bulk: same file system as the store, so files link
  std::string file_prefix;         // "<pid>-<loader#>-": unique among live loaders
  std::string job_key;
  std::optional<std::string> pending, finished;

  std::mutex mu;                   // guards the fields below (prepare and commit race on them)
  std::uint64_t predicted_next = 0;
  std::uint64_t chunk_no = 0;
  std::vector<std::pair<SlotId, SlotId>> ranges;  // ids this job committed, merged
  std::uint64_t committed = 0;

  // Validates and writes the chunk's rows as files for ids first.. (see write_rows): the keys
  // file on a helper thread, the values and payloads files on this one (large chunks only).
  std::unique_ptr<storage::BulkChunk> write_files(const PreparedChunk::Rep& c, std::uint64_t first,
                                                  std::uint64_t chunk) {
    const MemoryConfig& cfg = core->config();
    const std::size_t dk = static_cast<std::size_t>(cfg.key_dim), dv = static_cast<std::size_t>(cfg.value_dim);
    auto files = std::make_unique<storage::BulkChunk>(
        *core->store(), core->id(), first, dir + "/" + file_prefix + std::to_string(chunk));
    storage::BulkChunk& f = *files;
    auto keys = [&] {
      write_rows(f, storage::BulkChunk::kKeys, c.keys.data(), dk, c.rows, "keys");
      f.finish_family(storage::BulkChunk::kKeys);
    };
    auto rest = [&] {
      write_rows(f, storage::BulkChunk::kValues, c.values.data(), dv, c.rows, "values");
      f.finish_family(storage::BulkChunk::kValues);
      for (std::size_t i = 0; i < c.payloads.size(); ++i) {
        if (!c.payloads[i].empty()) f.put(storage::BulkChunk::kPayloads, i, c.payloads[i].data(), c.payloads[i].size());
      }
      f.finish_family(storage::BulkChunk::kPayloads);
    };
    if (c.rows * (dk + dv) * sizeof(float) < (std::size_t{1} << 20)) {
      keys();  // small: a thread would cost more than it saves
      rest();
    } else {
      std::exception_ptr keys_error;
      std::thread helper([&] {
        try {
          keys();
        } catch (...) {
          keys_error = std::current_exception();
        }
      });
      std::exception_ptr rest_error;
      try {
        rest();
      } catch (...) {
        rest_error = std::current_exception();
      }
      helper.join();
      // The keys' error first, as if the keys had been checked before the values.
      if (keys_error) std::rethrow_exception(keys_error);
      if (rest_error) std::rethrow_exception(rest_error);
    }
    files->finish(c.rows);
    return files;
  }

  // Writes rows × d floats to `family`'s file, each row checked for NaN/Inf right before it is
  // written (while it is in cache: validation costs no pass of its own over the chunk).
  static void write_rows(storage::BulkChunk& f, storage::BulkChunk::Family family, const float* data,
                         std::size_t d, std::size_t rows, const char* what) {
    const std::size_t bytes = d * sizeof(float);
    for (std::size_t i = 0; i < rows; ++i) {
      const float* row = data + i * d;
      if (!detail::all_finite(row, d)) {
        std::size_t j = 0;
        while (std::isfinite(row[j])) ++j;
        throw Error(ErrorCode::kInvalidArgument, std::string(what) + " holds a NaN or Inf at element " +
                                                     std::to_string(i * d + j) + " (row " +
                                                     std::to_string(i) + ")");
      }
      f.put(family, i, row, bytes);
    }
  }

  static std::string encode_job(const std::string& state,
                                const std::vector<std::pair<SlotId, SlotId>>& ids) {
    nlohmann::json j = {{"format", 1}, {"state", state}, {"ranges", ids}};
    return j.dump();
  }
};

namespace {

std::atomic<std::uint64_t> g_loaders{0};

// `ranges` plus [first, first + n), merged with the last range when they touch.
std::vector<std::pair<SlotId, SlotId>> with_range(std::vector<std::pair<SlotId, SlotId>> ranges,
                                                  SlotId first, std::size_t n) {
  if (!ranges.empty() && ranges.back().second == first) ranges.back().second += n;
  else ranges.emplace_back(first, first + n);
  return ranges;
}

// Leftover chunk files of a process that died mid-load. The store's lock means no other
// process is loading into this database, so files not named with our pid are dead.
void remove_stale_files(const std::string& dir) {
  const std::string mine = std::to_string(::getpid()) + "-";
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().filename().string().rfind(mine, 0) != 0) fs::remove_all(it->path(), ec);
  }
}

}  // namespace

BulkLoader::BulkLoader(Database& db, std::shared_ptr<Memory> memory, bool resume)
    : rep_(std::make_unique<Rep>()) {
  rep_->memory = std::move(memory);
  rep_->core = rep_->memory->core_.get();
  rep_->dir = (fs::path(db.path()) / "bulk").string();
  std::error_code ec;
  fs::create_directories(rep_->dir, ec);
  if (ec) throw Error(ErrorCode::kIOError, "cannot create " + rep_->dir + ": " + ec.message());
  remove_stale_files(rep_->dir);
  rep_->file_prefix = std::to_string(::getpid()) + "-" + std::to_string(g_loaders++) + "-";
  rep_->job_key = storage::job_key(rep_->core->id());
  rep_->predicted_next = rep_->core->next_slot_id();
  if (auto rec = storage::get_meta(*rep_->core->store(), rep_->job_key)) {
    nlohmann::json j = nlohmann::json::parse(*rec, nullptr, false);
    if (j.is_discarded() || !j.contains("state") || (!j.value("done", false) && !j.contains("ranges"))) {
      throw Error(ErrorCode::kCorruption, "the bulk-load job record of memory '" +
                                              rep_->memory->name() + "' is malformed");
    }
    if (j.value("done", false)) {
      rep_->finished = j["state"].get<std::string>();
      return;
    }
    if (!resume) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "memory '" + rep_->memory->name() +
                      "' holds an interrupted bulk load; resume it (or abort it) first");
    }
    rep_->pending = j["state"].get<std::string>();
    rep_->ranges = j["ranges"].get<std::vector<std::pair<SlotId, SlotId>>>();
  }
}

BulkLoader::~BulkLoader() = default;

const std::optional<std::string>& BulkLoader::pending_job() const { return rep_->pending; }
const std::optional<std::string>& BulkLoader::finished_job() const { return rep_->finished; }

std::size_t BulkLoader::wanted_sample_rows() const {
  const MemoryConfig& c = rep_->core->config();
  auto probe = index::VectorIndex::create(index::index_spec_of(c));
  return probe->auto_train_points();
}

void BulkLoader::train(MatrixView sample) {
  detail::check_matrix(sample, rep_->core->config().key_dim, "training sample");
  rep_->core->bulk_train(sample.rows, sample.data);
}

PreparedChunk BulkLoader::prepare(std::vector<float> keys, std::vector<float> values,
                                  std::vector<std::string> payloads) {
  const MemoryConfig& cfg = rep_->core->config();
  const std::size_t dk = static_cast<std::size_t>(cfg.key_dim), dv = static_cast<std::size_t>(cfg.value_dim);
  if (keys.size() % dk != 0 || values.size() % dv != 0) {
    throw Error(ErrorCode::kInvalidArgument, "a chunk's keys/values are not whole rows of " +
                                                 std::to_string(dk) + "/" + std::to_string(dv) + " floats");
  }
  const std::size_t n = keys.size() / dk;
  if (values.size() / dv != n) {
    throw Error(ErrorCode::kInvalidArgument, std::to_string(n) + " keys but " +
                                                 std::to_string(values.size() / dv) + " values");
  }
  if (!payloads.empty() && payloads.size() != n) {
    throw Error(ErrorCode::kInvalidArgument, std::to_string(payloads.size()) + " payloads for " +
                                                 std::to_string(n) + " rows");
  }
  PreparedChunk out;
  out.rep_ = std::make_unique<PreparedChunk::Rep>();
  auto& c = *out.rep_;
  c.keys = std::move(keys);
  c.values = std::move(values);
  c.payloads = std::move(payloads);
  c.rows = n;
  if (n == 0) return out;
  std::uint64_t first, chunk;
  {
    std::lock_guard<std::mutex> l(rep_->mu);
    first = rep_->predicted_next;
    rep_->predicted_next += n;
    chunk = rep_->chunk_no++;
  }
  try {
    c.files = rep_->write_files(c, first, chunk);
  } catch (...) {
    // Nothing was written: give the ids back unless another chunk has been prepared since.
    std::lock_guard<std::mutex> l(rep_->mu);
    if (rep_->predicted_next == first + n) rep_->predicted_next = first;
    throw;
  }
  return out;
}

void BulkLoader::reserve(std::size_t rows) { rep_->core->bulk_reserve(rows); }

BulkCommit BulkLoader::commit(PreparedChunk chunk, const std::string& job_state) {
  return commit(std::move(chunk), job_state, nullptr);
}

BulkCommit BulkLoader::commit(PreparedChunk chunk, const std::string& job_state, ChunkBuffers* spent) {
  auto hand_back = [&] {
    if (!spent || !chunk.rep_) return;
    auto& r = *chunk.rep_;
    spent->keys = std::move(r.keys);
    spent->values = std::move(r.values);
    spent->payloads = std::move(r.payloads);
    spent->keys.clear();
    spent->values.clear();
    spent->payloads.clear();
  };
  if (!chunk.rep_ || chunk.rep_->rows == 0) {
    hand_back();
    return {};
  }
  auto& c = *chunk.rep_;
  // The job record goes into the same atomic step as the chunk, so it already names the chunk's
  // ids: the record after a crash says exactly which ids this job owns.
  auto job_with = [&](std::uint64_t first) {
    std::lock_guard<std::mutex> l(rep_->mu);
    return rep_->encode_job(job_state, with_range(rep_->ranges, first, c.rows));
  };
  std::vector<std::pair<std::string, std::string>> meta{{rep_->job_key, job_with(c.files->first_id())}};
  detail::MemoryCore::ChunkRebuild rebuild = [&](std::uint64_t actual) {
    // Another writer took the predicted ids: rewrite the files and the record for `actual`.
    std::uint64_t chunk_no;
    {
      std::lock_guard<std::mutex> l(rep_->mu);
      rep_->predicted_next = actual + c.rows;
      chunk_no = rep_->chunk_no++;
    }
    auto files = rep_->write_files(c, actual, chunk_no);
    meta[0].second = job_with(actual);
    return files;
  };
  const SlotId first = rep_->core->bulk_commit(std::move(c.files), c.rows, c.keys.data(),
                                               c.values.data(), meta, rebuild);
  {
    std::lock_guard<std::mutex> l(rep_->mu);
    rep_->ranges = with_range(rep_->ranges, first, c.rows);
    rep_->committed += c.rows;
  }
  const std::size_t rows = c.rows;
  hand_back();
  return {first, rows};
}

void BulkLoader::finish(const std::string& final_state) {
  const std::string done =
      nlohmann::json({{"format", 1}, {"state", final_state}, {"done", true}}).dump();
  storage::put_meta(*rep_->core->store(), rep_->job_key, done, /*sync=*/true);
  rep_->pending.reset();
  rep_->finished = final_state;
  {
    std::lock_guard<std::mutex> l(rep_->mu);
    rep_->ranges.clear();
  }
  rep_->core->checkpoint();
}

void BulkLoader::abort() {
  std::vector<std::pair<SlotId, SlotId>> ranges;
  {
    std::lock_guard<std::mutex> l(rep_->mu);
    ranges.swap(rep_->ranges);
    rep_->committed = 0;
  }
  // Nothing committed (a load refused in its first chunk): no job record exists, nothing to undo.
  if (ranges.empty() && !rep_->pending) return;
  rep_->core->bulk_undo(ranges, rep_->job_key);
  rep_->pending.reset();
}

std::uint64_t BulkLoader::committed_rows() const {
  std::lock_guard<std::mutex> l(rep_->mu);
  return rep_->committed;
}

}  // namespace engram
