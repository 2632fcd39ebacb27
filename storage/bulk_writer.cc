#include "storage/bulk_writer.h"

#include <algorithm>
#include <cstdio>

#include <rocksdb/db.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/write_batch.h>

#include "engram/error.h"

namespace engram::storage {

// The friend of SlotStore through which bulk loads reach RocksDB (see slot_store.h).
struct BulkAccess {
  static rocksdb::DB* db(const SlotStore& s) { return s.db_.get(); }
  static rocksdb::ColumnFamilyHandle* meta(const SlotStore& s) { return s.cfs_[SlotStore::kMeta]; }
  static rocksdb::ColumnFamilyHandle* keys(const SlotStore& s) { return s.cfs_[SlotStore::kKeys]; }
  static rocksdb::ColumnFamilyHandle* values(const SlotStore& s) { return s.cfs_[SlotStore::kValues]; }
  static rocksdb::ColumnFamilyHandle* payloads(const SlotStore& s) { return s.cfs_[SlotStore::kPayloads]; }
  static rocksdb::ColumnFamilyHandle* oplog(const SlotStore& s) { return s.cfs_[SlotStore::kOplog]; }
};

namespace {

void check(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return;
  const std::string msg = what + ": " + s.ToString();
  if (s.IsCorruption()) throw Error(ErrorCode::kCorruption, msg);
  if (s.IsInvalidArgument()) throw Error(ErrorCode::kInvalidArgument, msg);
  throw Error(ErrorCode::kIOError, msg);
}

// One SST file for one column family, written with that family's own options (compression,
// table format), so an ingested file looks like one RocksDB wrote itself.
struct SstFile {
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  std::string path;
  std::unique_ptr<rocksdb::SstFileWriter> writer;
  std::uint64_t entries = 0;
  bool finished = false;

  SstFile(const SlotStore& store, rocksdb::ColumnFamilyHandle* family, std::string file)
      : cf(family), path(std::move(file)) {
    rocksdb::Options options = BulkAccess::db(store)->GetOptions(cf);
    writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), options, cf);
    check(writer->Open(path), "creating " + path);
  }
  void put(const std::string& key, const rocksdb::Slice& value) {
    check(writer->Put(key, value), "writing " + path);
    ++entries;
  }
  // Returns the file's size; an empty file is abandoned (RocksDB cannot finish one).
  std::uint64_t finish() {
    if (finished) return 0;
    finished = true;
    if (entries == 0) {
      writer.reset();
      std::remove(path.c_str());
      return 0;
    }
    rocksdb::ExternalSstFileInfo info;
    check(writer->Finish(&info), "finishing " + path);
    return info.file_size;
  }
};



}  // namespace

struct BulkChunk::Rep {
  std::unique_ptr<SstFile> keys, values, payloads;
  std::vector<std::string> ingested;  // paths handed to RocksDB (moved: nothing to delete)
  bool finished = false;
};

BulkChunk::BulkChunk(const SlotStore& store, MemoryId memory, std::uint64_t first_id, std::string prefix)
    : memory_(memory), first_id_(first_id), prefix_(std::move(prefix)), rep_(std::make_unique<Rep>()) {
  const std::string& stem = prefix_;
  rep_->keys = std::make_unique<SstFile>(store, BulkAccess::keys(store), stem + ".keys.sst");
  rep_->values = std::make_unique<SstFile>(store, BulkAccess::values(store), stem + ".values.sst");
  rep_->payloads = std::make_unique<SstFile>(store, BulkAccess::payloads(store), stem + ".payloads.sst");
}

BulkChunk::~BulkChunk() {
  for (SstFile* f : {rep_->keys.get(), rep_->values.get(), rep_->payloads.get()}) {
    if (!f) continue;
    f->writer.reset();
    std::remove(f->path.c_str());  // harmless after a move: the name no longer exists
  }
}

void BulkChunk::add(const void* key, std::size_t key_bytes, const void* value,
                    std::size_t value_bytes, const std::string& payload) {
  // Ids ascend, and record keys are big-endian, so rows arrive in the sorted order SSTs need.
  const std::string k = record_key(memory_, first_id_ + count_);
  rep_->keys->put(k, rocksdb::Slice(static_cast<const char*>(key), key_bytes));
  rep_->values->put(k, rocksdb::Slice(static_cast<const char*>(value), value_bytes));
  if (!payload.empty()) rep_->payloads->put(k, payload);
  ++count_;
}

void BulkChunk::finish() {
  if (count_ == 0) throw Error(ErrorCode::kInternal, "finishing an empty bulk chunk");
  file_bytes_ = rep_->keys->finish() + rep_->values->finish() + rep_->payloads->finish();
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
  for (SstFile* f : {chunk.rep_->keys.get(), chunk.rep_->values.get(), chunk.rep_->payloads.get(),
                     &oplog, &meta_file}) {
    if (f->entries == 0) continue;
    rocksdb::IngestExternalFileArg a;
    a.column_family = f->cf;
    a.external_files = {f->path};
    a.options = o;
    args.push_back(std::move(a));
  }
  check(BulkAccess::db(store)->IngestExternalFiles(args), "ingesting a bulk chunk");
  std::remove(oplog.path.c_str());
  std::remove(meta_file.path.c_str());
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
  check(BulkAccess::db(store)->Put(wo, BulkAccess::meta(store), key, value), "writing a meta record");
}

void delete_meta(SlotStore& store, const std::string& key, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  check(BulkAccess::db(store)->Delete(wo, BulkAccess::meta(store), key), "deleting a meta record");
}

std::string job_key(MemoryId memory) {
  std::string k = "j/";
  put_u32_be(&k, memory);
  return k;
}

void erase_id_ranges(SlotStore& store, MemoryId memory,
                     const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges,
                     const IndexOp& op, const MemoryState& state, const std::string& job) {
  rocksdb::WriteBatch b;
  for (const auto& [begin, end] : ranges) {
    const std::string lo = record_key(memory, begin), hi = record_key(memory, end);
    for (auto* cf : {BulkAccess::keys(store), BulkAccess::values(store), BulkAccess::payloads(store)}) {
      check(b.DeleteRange(cf, lo, hi), "building an undo batch");
    }
  }
  check(b.Put(BulkAccess::oplog(store), record_key(memory, op.seq), encode_index_op(op)), "building an undo batch");
  check(b.Put(BulkAccess::meta(store), state_key(memory), encode_memory_state(state)), "building an undo batch");
  check(b.Delete(BulkAccess::meta(store), job), "building an undo batch");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  check(BulkAccess::db(store)->Write(wo, &b), "undoing a bulk load");
}

}  // namespace engram::storage
