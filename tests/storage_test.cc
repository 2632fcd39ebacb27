// The storage and index modules on their own: key order, atomic batches, the op log, the
// checkpoint file format and index serialization.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include <filesystem>
#include <fstream>

#include <rocksdb/db.h>

#include "index/index_file.h"
#include "index/vector_index.h"
#include "storage/keys.h"
#include "storage/slot_store.h"
#include "tests/test_util.h"

namespace engram {
namespace {

using testing::TempDir;

TEST(KeysTest, RecordKeysSortByMemoryThenNumber) {
  EXPECT_LT(storage::record_key(1, 255), storage::record_key(1, 256));
  EXPECT_LT(storage::record_key(1, ~0ull - 1), storage::record_key(2, 0));
  EXPECT_LT(storage::record_key(1, ~0ull - 1), storage::range_end(1));
  EXPECT_EQ(storage::record_number(storage::record_key(7, 123456789)), 123456789u);
}

TEST(SlotStoreTest, BatchesCommitWholeAndTheOpLogReplaysInOrder) {
  TempDir dir;
  auto store = storage::SlotStore::open(dir.path(), {});
  auto entry = store->create_memory("m", "{}");
  EXPECT_THROW(store->create_memory("m", "{}"), Error);
  float v[2] = {1, 2};
  for (std::uint64_t seq = 1; seq <= 5; ++seq) {
    auto b = store->new_batch(entry.id);
    b.put_key(seq, v, sizeof v);
    b.put_value(seq, v, sizeof v);
    b.log_index_op({seq, storage::IndexOp::kAdd, {seq}});
    b.set_state({seq + 1, seq, seq});
    store->commit(b, false);
  }
  EXPECT_EQ(store->load_state(entry.id).op_seq, 5u);
  std::vector<std::uint64_t> seen;
  store->scan_index_ops(entry.id, 2, [&](const storage::IndexOp& op) { seen.push_back(op.seq); });
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{3, 4, 5}));
  store->truncate_index_ops(entry.id, 4);
  seen.clear();
  store->scan_index_ops(entry.id, 0, [&](const storage::IndexOp& op) { seen.push_back(op.seq); });
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{5}));

  float out[4];
  std::vector<bool> found;
  store->multi_get_values(entry.id, {2, 9}, out, 2, &found);
  EXPECT_TRUE(found[0]);
  EXPECT_FALSE(found[1]);
  EXPECT_EQ(out[1], 2.0f);
  // A record of the wrong size is corruption, not a silent misread.
  EXPECT_THROW(store->multi_get_values(entry.id, {2}, out, 3, &found), Error);
}

// A store written before the external_ids and payload_index families existed: a read-only open
// reads them as empty, an ordinary open adds them, and the slots are untouched either way.
TEST(SlotStoreTest, AStoreWithoutTheNewerFamiliesOpensBothWays) {
  TempDir dir;
  const std::string path = dir.sub("store");
  std::uint32_t memory = 0;
  {
    auto store = storage::SlotStore::open(path, {});
    memory = store->create_memory("m", "{}").id;
    auto batch = store->new_batch(memory);
    const float key[2] = {1, 2};
    batch.put_key(7, key, sizeof key);
    batch.put_payload(7, "p");
    store->commit(batch, true);
  }
  {
    // Take the two families away, as a store of the version before them was.
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &raw).ok());
    for (auto* h : handles) {
      if (h->GetName() == "external_ids" || h->GetName() == "payload_index") ASSERT_TRUE(raw->DropColumnFamily(h).ok());
      raw->DestroyColumnFamilyHandle(h);
    }
    delete raw;
    names.clear();
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
    ASSERT_EQ(std::count(names.begin(), names.end(), "external_ids"), 0);
  }
  storage::StoreOptions ro;
  ro.read_only = true;
  for (const storage::StoreOptions& o : {ro, storage::StoreOptions()}) {
    auto store = storage::SlotStore::open(path, o);
    EXPECT_EQ(store->multi_get_payloads(memory, {7})[0], "p");
    EXPECT_FALSE(store->find_external_ids(memory, {"sx"})[0].has_value());
    EXPECT_EQ(store->external_ids_of(memory, {7})[0], "");
    std::size_t entries = 0;
    store->scan_index_entries(storage::index_entry_prefix(memory, "f"), [&](const rocksdb::Slice&) { return ++entries, true; });
    EXPECT_EQ(entries, 0u);
  }
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  EXPECT_EQ(std::count(names.begin(), names.end(), "external_ids"), 1);  // the writer's open added it
}

TEST(IndexFileTest, RoundTripsAndDetectsDamage) {
  TempDir dir;
  const std::string path = dir.sub("x.idx");
  EXPECT_FALSE(index::read_index_checkpoint(path).has_value());
  index::write_index_checkpoint(path, {42, {1, 2, 3, 4, 5}});
  auto back = index::read_index_checkpoint(path);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->op_seq(), 42u);
  EXPECT_EQ(std::vector<std::uint8_t>(back->payload(), back->payload() + back->payload_size()),
            (std::vector<std::uint8_t>{1, 2, 3, 4, 5}));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put(9);
  }
  EXPECT_THROW(index::read_index_checkpoint(path), Error);
}

// A streamed payload — small writes, writes larger than the file buffer, and bytes patched after
// they were written — reads back exactly as an in-memory payload would.
TEST(IndexFileTest, StreamedPayloadWithPatchesRoundTrips) {
  TempDir dir;
  const std::string path = dir.sub("s.idx");
  std::vector<std::uint8_t> expected;
  index::write_index_checkpoint(path, 7, [&](index::ByteSink& out) {
    auto put = [&](std::size_t n, std::uint8_t seed) {
      std::vector<std::uint8_t> block(n);
      for (std::size_t i = 0; i < n; ++i) block[i] = static_cast<std::uint8_t>(seed + i * 31);
      out.write(block.data(), n);
      expected.insert(expected.end(), block.begin(), block.end());
    };
    const std::uint64_t length_at = out.position();
    std::uint64_t placeholder = 0;
    out.write(&placeholder, 8);
    expected.resize(expected.size() + 8);
    put(100, 1);
    put(3 << 20, 2);  // larger than the sink's buffer: written straight through
    put(5, 3);
    const std::uint64_t length = out.position() - length_at - 8;
    out.write_at(length_at, &length, 8);  // patched after what follows was written
    std::memcpy(expected.data() + length_at, &length, 8);
    put(700000, 4);
  });
  auto back = index::read_index_checkpoint(path);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->op_seq(), 7u);
  ASSERT_EQ(back->payload_size(), expected.size());
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), back->payload()));
}

TEST(VectorIndexTest, HnswTombstonesSurviveSerialization) {
  index::IndexSpec spec{4, Metric::kL2, "HNSW8", "", "cpu"};
  auto idx = index::VectorIndex::create(spec);
  auto x = testing::random_matrix(50, 4, 1);
  std::vector<std::uint64_t> ids(50);
  for (std::uint64_t i = 0; i < 50; ++i) ids[i] = 1000 + i;
  idx->add(50, x.data(), ids.data());
  idx->remove({1000, 1001, 77});  // 77 is unknown: ignored
  EXPECT_EQ(idx->size(), 48u);
  EXPECT_EQ(idx->tombstones(), 2u);
  const std::vector<std::uint8_t> bytes = idx->serialize();
  auto copy = index::VectorIndex::deserialize(spec, bytes.data(), bytes.size());
  EXPECT_EQ(copy->size(), 48u);
  float score;
  std::uint64_t id;
  copy->search(1, x.data(), 1, &score, &id, {});
  EXPECT_NE(id, 1000u) << "a tombstoned id came back";
  copy->search(1, x.data() + 8, 1, &score, &id, {});
  EXPECT_EQ(id, 1002u);
  EXPECT_NEAR(score, 0.0f, 1e-6) << "L2 scores are negated distances";
  const std::uint8_t junk[] = {1, 2, 3};
  EXPECT_THROW(index::VectorIndex::deserialize(spec, junk, sizeof junk), Error);
}

}  // namespace
}  // namespace engram
