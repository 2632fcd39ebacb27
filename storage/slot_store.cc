#include "storage/slot_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <mutex>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include "engram/error.h"
#include "storage/rocksdb_logger.h"
#include "storage/status.h"
#include "storage/write_gate.h"

namespace engram::storage {

void check(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return;
  std::string msg = what + ": " + s.ToString();
  if (s.IsNoSpace() || msg.find("No space left") != std::string::npos) throw Error(ErrorCode::kNoSpace, msg);
  if (s.IsIOError() && (s.ToString().find("lock") != std::string::npos ||
                        s.ToString().find("Lock") != std::string::npos)) {
    throw Error(ErrorCode::kBusy, what + ": the database is already open in another process (" +
                                      s.ToString() + ")");
  }
  if (s.IsCorruption()) throw Error(ErrorCode::kCorruption, msg);
  if (s.IsInvalidArgument()) throw Error(ErrorCode::kInvalidArgument, msg);
  throw Error(ErrorCode::kIOError, msg);
}

namespace {

// Index = SlotStore::Cf. "default" doubles as the meta family.
const char* const kCfNames[] = {"default", "keys", "values", "payloads", "oplog", "external_ids", "payload_index"};
// SlotBatch is built before it meets a store, so it names column families by these indexes.
constexpr int kCfMeta = 0, kCfKeys = 1, kCfValues = 2, kCfPayloads = 3, kCfOplog = 4, kCfExternalIds = 5,
              kCfPayloadIndex = 6;


IndexOp decode_op(std::uint64_t seq, const rocksdb::Slice& v) {
  if (v.size() < 1 || (v.size() - 1) % 8 != 0 || (v[0] != IndexOp::kAdd && v[0] != IndexOp::kRemove)) {
    throw Error(ErrorCode::kCorruption, "op log record " + std::to_string(seq) + " is malformed");
  }
  IndexOp op;
  op.seq = seq;
  op.kind = static_cast<IndexOp::Kind>(v[0]);
  op.ids.resize((v.size() - 1) / 8);
  for (std::size_t i = 0; i < op.ids.size(); ++i) op.ids[i] = get_u64_be(v.data() + 1 + 8 * i);
  return op;
}

}  // namespace

std::string encode_index_op(const IndexOp& op) {
  std::string s;
  s.reserve(1 + 8 * op.ids.size());
  s.push_back(static_cast<char>(op.kind));
  for (std::uint64_t id : op.ids) put_u64_be(&s, id);
  return s;
}

std::string encode_memory_state(const MemoryState& state) {
  std::string v;
  put_u64_be(&v, state.next_id);
  put_u64_be(&v, state.slots);
  put_u64_be(&v, state.op_seq);
  return v;
}

// ---------------------------------------------------------------------------------------------
struct SlotBatch::Rep {
  rocksdb::WriteBatch batch;
  const std::vector<rocksdb::ColumnFamilyHandle*>* cfs = nullptr;
  std::size_t bytes = 0;
  rocksdb::ColumnFamilyHandle* cf(int i) const { return (*cfs)[i]; }
  void put(int cf_index, const std::string& key, const rocksdb::Slice& value) {
    check(batch.Put(cf(cf_index), key, value), "building a write batch");
    bytes += key.size() + value.size();
  }
};

SlotBatch::SlotBatch(MemoryId memory) : memory_(memory), rep_(std::make_unique<Rep>()) {}
SlotBatch::~SlotBatch() = default;
SlotBatch::SlotBatch(SlotBatch&&) noexcept = default;
SlotBatch& SlotBatch::operator=(SlotBatch&&) noexcept = default;

void SlotBatch::put_key(std::uint64_t id, const void* data, std::size_t bytes) {
  rep_->put(kCfKeys, record_key(memory_, id), rocksdb::Slice(static_cast<const char*>(data), bytes));
}

void SlotBatch::put_value(std::uint64_t id, const void* data, std::size_t bytes) {
  rep_->put(kCfValues, record_key(memory_, id),
            rocksdb::Slice(static_cast<const char*>(data), bytes));
}

void SlotBatch::put_payload(std::uint64_t id, const std::string& payload) {
  if (payload.empty()) {
    check(rep_->batch.Delete(rep_->cf(kCfPayloads), record_key(memory_, id)), "building a write batch");
  } else {
    rep_->put(kCfPayloads, record_key(memory_, id), payload);
  }
}

void SlotBatch::erase_slot(std::uint64_t id) {
  const std::string k = record_key(memory_, id);
  for (int cf : {kCfKeys, kCfValues, kCfPayloads}) {
    check(rep_->batch.Delete(rep_->cf(cf), k), "building a write batch");
  }
}

void SlotBatch::put_external_id(std::uint64_t id, const std::string& external) { put_external_ids({{id, external}}); }

void SlotBatch::put_external_ids(std::vector<std::pair<std::uint64_t, std::string>> pairs) {
  std::sort(pairs.begin(), pairs.end());
  for (const auto& [id, external] : pairs) rep_->put(kCfExternalIds, slot_external_id_key(memory_, id), external);
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  std::string value;
  for (const auto& [id, external] : pairs) {
    value.clear();
    put_u64_be(&value, id);
    rep_->put(kCfExternalIds, external_id_key(memory_, external), value);
  }
}

void SlotBatch::erase_external_id(std::uint64_t id, const std::string& external) {
  check(rep_->batch.Delete(rep_->cf(kCfExternalIds), external_id_key(memory_, external)), "building a write batch");
  check(rep_->batch.Delete(rep_->cf(kCfExternalIds), slot_external_id_key(memory_, id)), "building a write batch");
}

void SlotBatch::put_index_entry(const std::string& entry) { rep_->put(kCfPayloadIndex, entry, rocksdb::Slice()); }

void SlotBatch::erase_index_entry(const std::string& entry) {
  check(rep_->batch.Delete(rep_->cf(kCfPayloadIndex), entry), "building a write batch");
}

void SlotBatch::erase_index_range(const std::string& begin, const std::string& end) {
  check(rep_->batch.DeleteRange(rep_->cf(kCfPayloadIndex), begin, end), "building a write batch");
}

void SlotBatch::put_meta(const std::string& key, const std::string& value) { rep_->put(kCfMeta, key, value); }

void SlotBatch::erase_meta(const std::string& key) {
  check(rep_->batch.Delete(rep_->cf(kCfMeta), key), "building a write batch");
}

void SlotBatch::log_index_op(const IndexOp& op) {
  rep_->put(kCfOplog, record_key(memory_, op.seq), encode_index_op(op));
}

void SlotBatch::set_state(const MemoryState& state) {
  rep_->put(kCfMeta, state_key(memory_), encode_memory_state(state));
}

std::size_t SlotBatch::approximate_bytes() const { return rep_->bytes; }

// ---------------------------------------------------------------------------------------------
SlotStore::SlotStore() = default;

SlotStore::~SlotStore() {
  if (!db_) return;
  // Flush the memtables so the next open does not replay the whole WAL (seconds for a large
  // memory); a failure here loses nothing, the WAL still holds every write. Not after a write
  // failed or on a full disk: the flush could not finish, and RocksDB must not touch a failed
  // log writer again.
  if (gate_->usable_for_writes() && gate_->reason().empty()) {
    rocksdb::FlushOptions flush;
    flush.wait = true;
    db_->Flush(flush, cfs_);  // a writer's store has every family
  }
  for (auto* h : cfs_)
    if (h) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
  db_.reset();
  if (read_lock_fd_ >= 0) ::close(read_lock_fd_);  // releases the LOCK after the store is closed
}

std::unique_ptr<SlotStore> SlotStore::open(const std::string& dir, const StoreOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  // A store written before a family existed gets it, empty, when opened for writing.
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  db_options.info_log = make_rocksdb_logger();  // no LOG file on the data disk (rocksdb_logger.h)
  // Opening must cost little next to loading the index checkpoint: do not read every table
  // file's properties to refresh compaction statistics (they update as compactions run), and
  // trust the MANIFEST's file sizes (the engine checks each file when it first reads it).
  db_options.skip_stats_update_on_db_open = true;
  db_options.skip_checking_sst_file_sizes_on_db_open = true;

  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  auto cf_options = [&](bool compress) {
    rocksdb::ColumnFamilyOptions o;
    rocksdb::BlockBasedTableOptions t;
    t.block_cache = cache;
    t.cache_index_and_filter_blocks = true;
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    // Float vectors do not compress; spending CPU on them buys nothing.
    o.compression = compress ? rocksdb::kLZ4Compression : rocksdb::kNoCompression;
    o.write_buffer_size = 64 << 20;
    return o;
  };
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int i = 0; i < kNumCf; ++i) {
    const bool compress = (i == kMeta || i == kPayloads || i == kOplog);
    descriptors.emplace_back(kCfNames[i], cf_options(compress));
  }
  // An upsert looks up every id of its batch, most of them new: a bloom filter of the memtable
  // answers those misses without a walk of its skip list.
  descriptors[kExternalIds].options.memtable_prefix_bloom_size_ratio = 0.05;
  descriptors[kExternalIds].options.memtable_whole_key_filtering = true;

  std::unique_ptr<SlotStore> store(new SlotStore());
  store->dir_ = dir;
  // RocksDB logs an error when the folder it creates a database in is missing (harmless, but
  // its log now reaches the user): make the folder first.
  if (options.create_if_missing) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
  }
  store->gate_ = std::make_unique<WriteGate>(dir, options.min_free_bytes);
  rocksdb::DB* raw = nullptr;
  // On a full disk an existing store opens read-only: opening for writes starts a new log and
  // may flush, which fails there, and serving reads is still worth it.
  const std::uint64_t free = std::filesystem::exists(std::filesystem::path(dir) / "CURRENT")
                                 ? free_disk_bytes(dir)
                                 : options.min_free_bytes;
  if (options.read_only) {
    // RocksDB's read-only open takes no lock; this takes the one its writers take (an fcntl
    // write lock on the LOCK file, made if a copy lacks it), so a writer and a reader never
    // have the store at once. On a file system nobody can write to, there is no writer to keep out.
    if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT")) {
      throw Error(ErrorCode::kNotFound, "no store to open read-only in " + dir);
    }
    store->read_lock_fd_ = ::open((std::filesystem::path(dir) / "LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (store->read_lock_fd_ < 0 && errno != EROFS && errno != EACCES) {
      throw Error(ErrorCode::kIOError, "opening " + dir + "/LOCK: " + std::strerror(errno));
    }
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    if (store->read_lock_fd_ >= 0 && ::fcntl(store->read_lock_fd_, F_SETLK, &lock) != 0) {
      const std::string why = std::strerror(errno);
      ::close(store->read_lock_fd_);
      store->read_lock_fd_ = -1;
      throw Error(ErrorCode::kBusy, "opening the store in " + dir +
                                        " read-only: the database is already open in another process (" + why + ")");
    }
    store->open_read_only(db_options, descriptors, &raw);
    store->gate_->opened_read_only("the database was opened read-only", ErrorCode::kFailedPrecondition);
    store->db_.reset(raw);
    return store;
  }
  std::string read_only;
  if (free < options.min_free_bytes) {
    read_only = std::to_string(free >> 20) + " MiB free, writes need " +
                std::to_string(options.min_free_bytes >> 20) + " MiB";
  } else {
    // Opening replays the log into tables, which can need more space than the margin.
    const rocksdb::Status s = rocksdb::DB::Open(db_options, dir, descriptors, &store->cfs_, &raw);
    if (s.IsNoSpace() || s.ToString().find("No space left") != std::string::npos) {
      read_only = "replaying the log needs more space than there is";
      store->cfs_.clear();
    } else {
      check(s, "opening the store in " + dir);
    }
  }
  if (!read_only.empty()) {
    store->open_read_only(db_options, descriptors, &raw);
    store->gate_->opened_read_only("the disk holding " + dir + " was full when the database opened (" +
                                       read_only + "): it serves reads only; restart it once space is freed",
                                   ErrorCode::kNoSpace);
  }
  store->db_.reset(raw);
  return store;
}

void SlotStore::open_read_only(const rocksdb::DBOptions& db_options,
                               const std::vector<rocksdb::ColumnFamilyDescriptor>& descriptors, rocksdb::DB** raw) {
  // A store written before a family existed lacks it, and a read-only open cannot create it:
  // open the families there are, and read the missing ones as empty (a null handle).
  std::vector<std::string> present;
  check(rocksdb::DB::ListColumnFamilies(db_options, dir_, &present), "opening the store in " + dir_ + " read-only");
  std::vector<rocksdb::ColumnFamilyDescriptor> opened;
  std::vector<int> slot;
  for (int i = 0; i < kNumCf; ++i) {
    if (std::find(present.begin(), present.end(), descriptors[i].name) == present.end()) continue;
    opened.push_back(descriptors[i]);
    slot.push_back(i);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  check(rocksdb::DB::OpenForReadOnly(db_options, dir_, opened, &handles, raw), "opening the store in " + dir_ + " read-only");
  cfs_.assign(kNumCf, nullptr);
  for (std::size_t i = 0; i < handles.size(); ++i) cfs_[static_cast<std::size_t>(slot[i])] = handles[i];
}

// --- catalog ---------------------------------------------------------------------------------
std::vector<CatalogEntry> SlotStore::list_memories() const {
  std::vector<CatalogEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kMeta]));
  for (it->Seek(kCatalogPrefix); it->Valid() && it->key().starts_with(kCatalogPrefix); it->Next()) {
    const rocksdb::Slice v = it->value();
    if (v.size() < 4) throw Error(ErrorCode::kCorruption, "catalog entry is malformed");
    out.push_back({it->key().ToString().substr(2), get_u32_be(v.data()),
                   std::string(v.data() + 4, v.size() - 4)});
  }
  check(it->status(), "listing memories");
  return out;
}

std::optional<CatalogEntry> SlotStore::find_memory(const std::string& name) const {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kMeta], catalog_key(name), &v);
  if (s.IsNotFound()) return std::nullopt;
  check(s, "reading the catalog");
  if (v.size() < 4) throw Error(ErrorCode::kCorruption, "catalog entry of " + name + " is malformed");
  return CatalogEntry{name, get_u32_be(v.data()), v.substr(4)};
}

CatalogEntry SlotStore::create_memory(const std::string& name, const std::string& config_json) {
  std::lock_guard<std::mutex> lock(catalog_mutex_);
  if (find_memory(name)) {
    throw Error(ErrorCode::kAlreadyExists, "memory '" + name + "' already exists");
  }
  std::string counter;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kMeta], kNextMemoryIdKey, &counter);
  MemoryId id = 1;
  if (s.ok()) {
    if (counter.size() != 4) throw Error(ErrorCode::kCorruption, "memory id counter is malformed");
    id = get_u32_be(counter.data());
  } else {
    check(s.IsNotFound() ? rocksdb::Status::OK() : s, "reading the memory id counter");
  }
  if (id >= 0xfffffff0u) throw Error(ErrorCode::kFailedPrecondition, "out of memory ids");

  rocksdb::WriteBatch b;
  std::string next, entry;
  put_u32_be(&next, id + 1);
  put_u32_be(&entry, id);
  entry += config_json;
  b.Put(cfs_[kMeta], kNextMemoryIdKey, next);
  b.Put(cfs_[kMeta], catalog_key(name), entry);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  guarded_write(b.GetDataSize(), "creating memory " + name, [&] { return db_->Write(wo, &b); });
  return {name, id, config_json};
}

void SlotStore::drop_memory(const CatalogEntry& entry) {
  std::lock_guard<std::mutex> lock(catalog_mutex_);
  rocksdb::WriteBatch b;
  b.Delete(cfs_[kMeta], catalog_key(entry.name));
  b.Delete(cfs_[kMeta], state_key(entry.id));
  const std::string begin = range_begin(entry.id), end = range_end(entry.id);
  for (int cf : {kKeys, kValues, kPayloads, kOplog, kExternalIds, kPayloadIndex}) b.DeleteRange(cfs_[cf], begin, end);
  // The payload index's declarations and readiness marks of the memory.
  b.DeleteRange(cfs_[kMeta], payload_index_meta_prefix(entry.id), payload_index_meta_prefix(entry.id + 1));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  // Dropping frees space, so it is let through on a full disk; not after a write failed.
  guarded_write(0, "dropping memory " + entry.name, [&] { return db_->Write(wo, &b); });
}

MemoryState SlotStore::load_state(MemoryId memory) const {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kMeta], state_key(memory), &v);
  if (s.IsNotFound()) return {};
  check(s, "reading memory state");
  if (v.size() != 24) throw Error(ErrorCode::kCorruption, "memory state record is malformed");
  return {get_u64_be(v.data()), get_u64_be(v.data() + 8), get_u64_be(v.data() + 16)};
}

// --- writes ----------------------------------------------------------------------------------
SlotBatch SlotStore::new_batch(MemoryId memory) const {
  SlotBatch b(memory);
  b.rep_->cfs = &cfs_;
  return b;
}

void SlotStore::commit(SlotBatch& batch, bool sync) {
  if (batch.rep_->cfs != &cfs_) {
    throw Error(ErrorCode::kInternal, "a write batch was committed to a store it was not made by");
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  guarded_write(batch.rep_->batch.GetDataSize(), "committing a write batch",
                [&] { return db_->Write(wo, &batch.rep_->batch); });
}

void SlotStore::sync_wal() {
  guarded_write(0, "syncing the WAL", [&] { return db_->FlushWAL(/*sync=*/true); });
}

void SlotStore::guarded_write(std::uint64_t bytes, const std::string& what,
                              const std::function<rocksdb::Status()>& write) {
  gate_->admit(bytes);
  const rocksdb::Status s = write();
  // A failed write of the store's own files leaves a RocksDB writer that must not be used again;
  // a missing input file (a bulk chunk's SST removed under it) does not.
  if (!s.ok() && (s.IsNoSpace() || (s.IsIOError() && !s.IsPathNotFound()))) {
    const std::string text = s.ToString();
    gate_->failed(what + ": " + text, s.IsNoSpace() || text.find("No space left") != std::string::npos);
  }
  check(s, what);
}

std::uint64_t SlotStore::approximate_bytes(MemoryId memory) const {
  // Every family keys a memory's records under its 4-byte id first (storage/keys.h).
  std::string begin;
  put_u32_be(&begin, memory);
  const std::string end = range_end(memory);
  const rocksdb::Range range(begin, end);
  rocksdb::SizeApproximationOptions options;
  options.include_memtables = true;
  options.include_files = true;
  std::uint64_t total = 0;
  for (int cf : {kKeys, kValues, kPayloads, kOplog, kExternalIds, kPayloadIndex}) {
    if (cfs_[cf] == nullptr) continue;  // an older store without this family
    std::uint64_t bytes = 0;
    check(db_->GetApproximateSizes(options, cfs_[cf], &range, 1, &bytes), "estimating a memory's size");
    total += bytes;
  }
  return total;
}

std::string SlotStore::read_only_reason() const { return gate_->reason(); }

// --- reads -----------------------------------------------------------------------------------
void SlotStore::multi_get(Cf cf, MemoryId memory, const std::vector<std::uint64_t>& ids,
                          const std::function<void(std::size_t, const rocksdb::Slice&)>& on_found) const {
  std::vector<std::string> keys(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) keys[i] = record_key(memory, ids[i]);
  multi_get_raw(cf, keys, on_found);
}

void SlotStore::multi_get_raw(Cf cf, const std::vector<std::string>& key_bytes,
                              const std::function<void(std::size_t, const rocksdb::Slice&)>& on_found) const {
  const std::size_t n = key_bytes.size();
  if (n == 0) return;
  std::vector<rocksdb::Slice> keys(key_bytes.begin(), key_bytes.end());
  std::vector<rocksdb::PinnableSlice> values(n);
  std::vector<rocksdb::Status> statuses(n);
  db_->MultiGet(rocksdb::ReadOptions(), cfs_[cf], n, keys.data(), values.data(), statuses.data());
  for (std::size_t i = 0; i < n; ++i) {
    if (statuses[i].IsNotFound()) continue;
    check(statuses[i], "reading record " + std::to_string(i) + " of a batch");
    on_found(i, values[i]);
  }
}

void SlotStore::multi_get_floats(Cf cf, MemoryId memory, const std::vector<std::uint64_t>& ids,
                                 float* out, std::size_t floats_per_row,
                                 std::vector<bool>* found) const {
  found->assign(ids.size(), false);
  const std::size_t row_bytes = floats_per_row * sizeof(float);
  multi_get(cf, memory, ids, [&](std::size_t i, const rocksdb::Slice& v) {
    if (v.size() != row_bytes) {
      throw Error(ErrorCode::kCorruption, "slot " + std::to_string(ids[i]) + " holds " +
                                              std::to_string(v.size()) + " bytes, expected " +
                                              std::to_string(row_bytes));
    }
    std::memcpy(out + i * floats_per_row, v.data(), row_bytes);
    (*found)[i] = true;
  });
}

void SlotStore::multi_get_keys(MemoryId memory, const std::vector<std::uint64_t>& ids, float* out,
                               std::size_t floats_per_row, std::vector<bool>* found) const {
  multi_get_floats(kKeys, memory, ids, out, floats_per_row, found);
}

void SlotStore::multi_get_values(MemoryId memory, const std::vector<std::uint64_t>& ids,
                                 float* out, std::size_t floats_per_row,
                                 std::vector<bool>* found) const {
  multi_get_floats(kValues, memory, ids, out, floats_per_row, found);
}

std::vector<std::string> SlotStore::multi_get_payloads(
    MemoryId memory, const std::vector<std::uint64_t>& ids) const {
  std::vector<std::string> out(ids.size());  // an empty payload is not stored
  multi_get(kPayloads, memory, ids, [&](std::size_t i, const rocksdb::Slice& v) { out[i] = v.ToString(); });
  return out;
}

void SlotStore::scan_floats(Cf cf, MemoryId memory, const VectorVisitor& fn) const {
  const std::string begin = range_begin(memory), end = range_end(memory);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false;  // a full scan would evict the hot working set
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[cf]));
  std::vector<float> aligned;
  for (it->Seek(begin); it->Valid(); it->Next()) {
    const rocksdb::Slice v = it->value();
    if (v.size() % sizeof(float) != 0) {
      throw Error(ErrorCode::kCorruption, "slot " + std::to_string(record_number(it->key())) +
                                              " holds a vector of " + std::to_string(v.size()) +
                                              " bytes");
    }
    aligned.resize(v.size() / sizeof(float));
    std::memcpy(aligned.data(), v.data(), v.size());
    fn(record_number(it->key()), aligned.data(), aligned.size());
  }
  check(it->status(), "scanning a memory");
}

void SlotStore::scan_keys(MemoryId memory, const VectorVisitor& fn) const {
  scan_floats(kKeys, memory, fn);
}

void SlotStore::scan_values(MemoryId memory, const VectorVisitor& fn) const {
  scan_floats(kValues, memory, fn);
}

void SlotStore::scan_ids(MemoryId memory, const std::function<void(std::uint64_t)>& fn) const {
  const std::string begin = range_begin(memory), end = range_end(memory);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false;
  // The payload-free keys family is the smallest that names every slot.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kKeys]));
  for (it->Seek(begin); it->Valid(); it->Next()) fn(record_number(it->key()));
  check(it->status(), "listing slots");
}

void SlotStore::scan_ids_from(MemoryId memory, std::uint64_t first,
                              const std::function<bool(std::uint64_t)>& fn) const {
  const std::string begin = record_key(memory, first), end = range_end(memory);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kKeys]));
  for (it->Seek(begin); it->Valid(); it->Next())
    if (!fn(record_number(it->key()))) return;
  check(it->status(), "listing slots");
}

std::vector<std::optional<std::uint64_t>> SlotStore::find_external_ids(
    MemoryId memory, const std::vector<std::string>& external) const {
  std::vector<std::optional<std::uint64_t>> out(external.size());
  if (!cfs_[kExternalIds]) return out;
  std::vector<std::string> keys(external.size());
  for (std::size_t i = 0; i < external.size(); ++i) keys[i] = external_id_key(memory, external[i]);
  multi_get_raw(kExternalIds, keys, [&](std::size_t i, const rocksdb::Slice& v) {
    if (v.size() != 8) throw Error(ErrorCode::kCorruption, "an external id record is malformed");
    out[i] = get_u64_be(v.data());
  });
  return out;
}

std::vector<std::string> SlotStore::external_ids_of(MemoryId memory, const std::vector<std::uint64_t>& ids) const {
  std::vector<std::string> out(ids.size());
  if (!cfs_[kExternalIds]) return out;
  std::vector<std::string> keys(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) keys[i] = slot_external_id_key(memory, ids[i]);
  multi_get_raw(kExternalIds, keys, [&](std::size_t i, const rocksdb::Slice& v) { out[i] = v.ToString(); });
  return out;
}

void SlotStore::scan_index_entries(const std::string& prefix,
                                   const std::function<bool(const rocksdb::Slice&)>& fn) const {
  if (!cfs_[kPayloadIndex]) return;
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kPayloadIndex]));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
    if (!fn(it->key())) return;
  check(it->status(), "reading a payload index");
}

void SlotStore::scan_meta(const std::string& prefix,
                          const std::function<void(const std::string&, const std::string&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kMeta]));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
    fn(it->key().ToString(), it->value().ToString());
  check(it->status(), "reading the catalog");
}

void SlotStore::scan_payloads(MemoryId memory,
                              const std::function<void(std::uint64_t, const std::string&)>& fn) const {
  const std::string begin = range_begin(memory), end = range_end(memory);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kPayloads]));
  std::string payload;
  for (it->Seek(begin); it->Valid(); it->Next()) {
    payload.assign(it->value().data(), it->value().size());
    fn(record_number(it->key()), payload);
  }
  check(it->status(), "scanning payloads");
}

void SlotStore::scan_index_ops(MemoryId memory, std::uint64_t after,
                               const std::function<void(const IndexOp&)>& fn) const {
  const std::string begin = record_key(memory, after + 1), end = range_end(memory);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[kOplog]));
  for (it->Seek(begin); it->Valid(); it->Next()) {
    fn(decode_op(record_number(it->key()), it->value()));
  }
  check(it->status(), "reading the op log");
}

void SlotStore::truncate_index_ops(MemoryId memory, std::uint64_t upto) {
  rocksdb::WriteOptions wo;
  guarded_write(0, "truncating the op log", [&] {
    return db_->DeleteRange(wo, cfs_[kOplog], range_begin(memory), record_key(memory, upto + 1));
  });
}

void SlotStore::compact_all() {
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto* cf : cfs_) {
    if (!cf) continue;
    guarded_write(0, "compacting the store", [&] { return db_->CompactRange(o, cf, nullptr, nullptr); });
  }
}

void SlotStore::checkpoint_to(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  check(rocksdb::Checkpoint::Create(db_.get(), &raw), "preparing a checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  // It flushes the memtables first: a write to the store like any other.
  guarded_write(0, "writing a checkpoint to " + dir, [&] { return cp->CreateCheckpoint(dir); });
}

}  // namespace engram::storage
