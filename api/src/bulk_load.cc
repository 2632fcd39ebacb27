// engram::BulkLoader: validation, file preparation and the job record; the atomic step itself is
// MemoryCore::bulk_commit (memory_bulk.cc) over storage::ingest_chunk (storage/bulk_writer.cc).
#include "engram/bulk_load.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

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

  std::unique_ptr<storage::BulkChunk> write_files(const PreparedChunk::Rep& c, std::uint64_t first,
                                                  std::uint64_t chunk) {
    const MemoryConfig& cfg = core->config();
    const std::size_t kb = static_cast<std::size_t>(cfg.key_dim) * sizeof(float);
    const std::size_t vb = static_cast<std::size_t>(cfg.value_dim) * sizeof(float);
    auto files = std::make_unique<storage::BulkChunk>(
        *core->store(), core->id(), first, dir + "/" + file_prefix + std::to_string(chunk));
    static const std::string kNone;
    for (std::size_t i = 0; i < c.rows; ++i) {
      files->add(c.keys.data() + i * cfg.key_dim, kb, c.values.data() + i * cfg.value_dim, vb,
                 c.payloads.empty() ? kNone : c.payloads[i]);
    }
    files->finish();
    return files;
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
  auto probe = index::VectorIndex::create({c.key_dim, c.metric, c.index, c.search_params, c.device});
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
  detail::check_finite(keys.data(), keys.size(), "keys");
  detail::check_finite(values.data(), values.size(), "values");
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
  c.files = rep_->write_files(c, first, chunk);
  return out;
}

BulkCommit BulkLoader::commit(PreparedChunk chunk, const std::string& job_state) {
  if (!chunk.rep_ || chunk.rep_->rows == 0) return {};
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
  std::lock_guard<std::mutex> l(rep_->mu);
  rep_->ranges = with_range(rep_->ranges, first, c.rows);
  rep_->committed += c.rows;
  return {first, c.rows};
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
