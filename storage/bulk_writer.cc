#include "storage/bulk_writer.h"

#include <algorithm>
#include <cstdio>
#include <functional>

#include <rocksdb/db.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "engram/error.h"
#include "storage/status.h"

namespace engram::storage {

// The friend of SlotStore through which bulk loads reach RocksDB (see slot_store.h).
struct BulkAccess {
  static rocksdb::DB* db(const SlotStore& s) { return s.db_.get(); }
  // Bulk writes pass the store's write gate like its own (free space, failed writes).
  static void write(SlotStore& s, std::uint64_t bytes, const std::string& what,
                    const std::function<rocksdb::Status()>& fn) {
    s.guarded_write(bytes, what, fn);
  }
  static rocksdb::ColumnFamilyHandle* meta(const SlotStore& s) { return s.cfs_[SlotStore::kMeta]; }
  static rocksdb::ColumnFamilyHandle* keys(const SlotStore& s) { return s.cfs_[SlotStore::kKeys]; }
  static rocksdb::ColumnFamilyHandle* values(const SlotStore& s) { return s.cfs_[SlotStore::kValues]; }
  static rocksdb::ColumnFamilyHandle* payloads(const SlotStore& s) { return s.cfs_[SlotStore::kPayloads]; }
  static rocksdb::ColumnFamilyHandle* oplog(const SlotStore& s) { return s.cfs_[SlotStore::kOplog]; }
};

namespace {

// One SST file for one column family, written with that family's own options (compression,
// table format), so an ingested file looks like one RocksDB wrote itself; `no_filter` leaves out
// the bloom filter (see bulk_writer.h). The file is created on the first put().
struct SstFile {
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  std::string path;
  rocksdb::Options options;
  std::unique_ptr<rocksdb::SstFileWriter> writer;
  std::string key;  // the record key being written: memory id, then the slot id (both BE)
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;  // the file's size once finished
  bool finished = false;

  SstFile(const SlotStore& store, rocksdb::ColumnFamilyHandle* family, std::string file, bool no_filter = false)
      : cf(family), path(std::move(file)), options(BulkAccess::db(store)->GetOptions(cf)) {
    if (no_filter) {
      if (const auto* t = options.table_factory->GetOptions<rocksdb::BlockBasedTableOptions>()) {
        rocksdb::BlockBasedTableOptions copy = *t;
        copy.filter_policy.reset();
        options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(copy));
      }
    }
  }
  void put(const std::string& k, const rocksdb::Slice& value) {
    open();
    check(writer->Put(k, value), "writing " + path);
    ++entries;
  }
  // The record of slot `id` of `memory`, its key built in place (no allocation per row).
  void put_record(MemoryId memory, std::uint64_t id, const rocksdb::Slice& value) {
    if (key.empty()) key = record_key(memory, id);
    for (int i = 0; i < 8; ++i) key[4 + i] = static_cast<char>((id >> (56 - 8 * i)) & 0xff);
    put(key, value);
  }
  // Syncs and closes the file (SstFileWriter::Finish syncs); an empty file is never created.
  void finish() {
    if (finished) return;
    finished = true;
    if (entries == 0) return;
    rocksdb::ExternalSstFileInfo info;
    check(writer->Finish(&info), "finishing " + path);
    bytes = info.file_size;
  }
  ~SstFile() {
    if (writer) {
      writer.reset();
      std::remove(path.c_str());  // harmless after ingestion moved it: the name no longer exists
    }
  }

 private:
  void open() {
    if (writer) return;
    writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), options, cf);
    check(writer->Open(path), "creating " + path);
  }
};

}  // namespace

struct BulkChunk::Rep {
  std::unique_ptr<SstFile> files[3];  // by Family
  bool finished = false;
};

BulkChunk::BulkChunk(const SlotStore& store, MemoryId memory, std::uint64_t first_id, std::string prefix)
    : memory_(memory), first_id_(first_id), prefix_(std::move(prefix)), rep_(std::make_unique<Rep>()) {
  const std::string& stem = prefix_;
  rep_->files[kKeys] = std::make_unique<SstFile>(store, BulkAccess::keys(store), stem + ".keys.sst", true);
  rep_->files[kValues] = std::make_unique<SstFile>(store, BulkAccess::values(store), stem + ".values.sst", true);
  rep_->files[kPayloads] = std::make_unique<SstFile>(store, BulkAccess::payloads(store), stem + ".payloads.sst");
}

BulkChunk::~BulkChunk() = default;  // each SstFile removes its file unless ingestion moved it

void BulkChunk::put(Family family, std::uint64_t row, const void* data, std::size_t bytes) {
  // Ids ascend, and record keys are big-endian, so rows arrive in the sorted order SSTs need.
  rep_->files[family]->put_record(memory_, first_id_ + row, rocksdb::Slice(static_cast<const char*>(data), bytes));
}

void BulkChunk::finish_family(Family family) { rep_->files[family]->finish(); }

void BulkChunk::add(const void* key, std::size_t key_bytes, const void* value,
                    std::size_t value_bytes, const std::string& payload) {
  put(kKeys, count_, key, key_bytes);
  put(kValues, count_, value, value_bytes);
  if (!payload.empty()) put(kPayloads, count_, payload.data(), payload.size());
  ++count_;
}

void BulkChunk::finish(std::uint64_t rows) {
  if (rows == 0) rows = count_;
  if (rows == 0) throw Error(ErrorCode::kInternal, "finishing an empty bulk chunk");
  if (rep_->files[kKeys]->entries != rows || rep_->files[kValues]->entries != rows) {
    throw Error(ErrorCode::kInternal, "bulk chunk files hold " + std::to_string(rep_->files[kKeys]->entries) +
                                          " keys and " + std::to_string(rep_->files[kValues]->entries) +
                                          " values, expected " + std::to_string(rows));
  }
  count_ = rows;
  file_bytes_ = 0;
  for (auto& f : rep_->files) {
    f->finish();
    file_bytes_ += f->bytes;
  }
  rep_->finished = true;
}

void ingest_chunk(SlotStore& store, BulkChunk& chunk, const IndexOp& op, const MemoryState& state,
                  const std::vector<std::pair<std::string, std::string>>& extra_meta) {
  if (!chunk.rep_->finished) throw Error(ErrorCode::kInternal, "ingesting an unfinished bulk chunk");
  const std::string& stem = chunk.prefix_;
  // The small files: this chunk's op-log record, and the meta records in key order.
  SstFile oplog(store, BulkAccess::oplog(store), stem + ".oplog.sst");
  oplog.put(record_key(chunk.memory_, op.seq), encode_index_op(op));
  oplog.finish();
  std::vector<std::pair<std::string, std::string>> meta = extra_meta;
  meta.emplace_back(state_key(chunk.memory_), encode_memory_state(state));
  std::sort(meta.begin(), meta.end());
  SstFile meta_file(store, BulkAccess::meta(store), stem + ".meta.sst");
  for (const auto& [k, v] : meta) meta_file.put(k, v);
  meta_file.finish();

  rocksdb::IngestExternalFileOptions o;
  o.move_files = true;             // link, do not copy (falls back to a copy across devices)
  o.write_global_seqno = false;    // keep the files untouched; the seqno lives in the MANIFEST
  o.allow_blocking_flush = true;   // the meta family's memtable usually holds "s/<id>"
  std::vector<rocksdb::IngestExternalFileArg> args;
  for (SstFile* f : {chunk.rep_->files[BulkChunk::kKeys].get(), chunk.rep_->files[BulkChunk::kValues].get(),
                     chunk.rep_->files[BulkChunk::kPayloads].get(), &oplog, &meta_file}) {
    if (f->entries == 0) continue;
    rocksdb::IngestExternalFileArg a;
    a.column_family = f->cf;
    a.external_files = {f->path};
    a.options = o;
    args.push_back(std::move(a));
  }
  BulkAccess::write(store, chunk.file_bytes_, "ingesting a bulk chunk",
                    [&] { return BulkAccess::db(store)->IngestExternalFiles(args); });
}

std::optional<std::string> get_meta(const SlotStore& store, const std::string& key) {
  std::string v;
  rocksdb::Status s = BulkAccess::db(store)->Get(rocksdb::ReadOptions(), BulkAccess::meta(store), key, &v);
  if (s.IsNotFound()) return std::nullopt;
  check(s, "reading " + key);
  return v;
}

void put_meta(SlotStore& store, const std::string& key, const std::string& value, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  BulkAccess::write(store, key.size() + value.size(), "writing a meta record",
                    [&] { return BulkAccess::db(store)->Put(wo, BulkAccess::meta(store), key, value); });
}

void delete_meta(SlotStore& store, const std::string& key, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  BulkAccess::write(store, 0, "deleting a meta record",
                    [&] { return BulkAccess::db(store)->Delete(wo, BulkAccess::meta(store), key); });
}

std::string job_key(MemoryId memory) {
  std::string k = "j/";
  put_u32_be(&k, memory);
  return k;
}

void erase_id_ranges(SlotStore& store, MemoryId memory,
                     const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges,
                     const std::vector<IndexOp>& ops, const MemoryState& state, const std::string& job) {
  rocksdb::WriteBatch b;
  for (const auto& [begin, end] : ranges) {
    const std::string lo = record_key(memory, begin), hi = record_key(memory, end);
    for (auto* cf : {BulkAccess::keys(store), BulkAccess::values(store), BulkAccess::payloads(store)}) {
      check(b.DeleteRange(cf, lo, hi), "building an undo batch");
    }
  }
  for (const IndexOp& op : ops)
    check(b.Put(BulkAccess::oplog(store), record_key(memory, op.seq), encode_index_op(op)), "building an undo batch");
  check(b.Put(BulkAccess::meta(store), state_key(memory), encode_memory_state(state)), "building an undo batch");
  check(b.Delete(BulkAccess::meta(store), job), "building an undo batch");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  // An undo frees space: let through on a full disk (not after a write failed).
  BulkAccess::write(store, 0, "undoing a bulk load", [&] { return BulkAccess::db(store)->Write(wo, &b); });
}

}  // namespace engram::storage
