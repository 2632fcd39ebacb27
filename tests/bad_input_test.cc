// Every kind of bad input gets a clear error of the right code, and changes nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "tests/test_util.h"

namespace engram {
namespace {

using testing::make_config;
using testing::random_matrix;
using testing::TempDir;

constexpr int kDim = 8;

// Runs fn, expects an engram::Error with `code` whose message contains `needle`.
template <typename Fn>
void expect_error(Fn&& fn, ErrorCode code, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected an error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = Database::open(dir_.path());
    mem_ = db_->create_memory("m", make_config(kDim, kDim));
    keys_ = random_matrix(50, kDim, 1);
    ids_ = mem_->insert(MatrixView(keys_, kDim), MatrixView(keys_, kDim));
    before_ = testing::all_slots(*mem_);
  }
  // Nothing changed: same slots, same keys, values, payloads, same index.
  void expect_unchanged() {
    auto now = testing::all_slots(*mem_);
    ASSERT_EQ(now.size(), before_.size());
    for (std::size_t i = 0; i < now.size(); ++i) {
      EXPECT_EQ(now[i].id, before_[i].id);
      EXPECT_EQ(now[i].key, before_[i].key);
      EXPECT_EQ(now[i].value, before_[i].value);
      EXPECT_EQ(now[i].payload, before_[i].payload);
    }
    EXPECT_EQ(mem_->stats().indexed, before_.size());
  }
  TempDir dir_;
  std::unique_ptr<Database> db_;
  std::shared_ptr<Memory> mem_;
  std::vector<float> keys_;
  std::vector<SlotId> ids_;
  std::vector<Slot> before_;
};

TEST_F(BadInputTest, WrongDimension) {
  auto k7 = random_matrix(3, 7, 2), k8 = random_matrix(3, 8, 3);
  expect_error([&] { mem_->insert(MatrixView(k7, 7), MatrixView(k8, 8)); }, ErrorCode::kInvalidArgument, "keys have dimension 7");
  expect_error([&] { mem_->insert(MatrixView(k8, 8), MatrixView(k7, 7)); }, ErrorCode::kInvalidArgument, "values have dimension 7");
  expect_error([&] { mem_->read(MatrixView(k7, 7)); }, ErrorCode::kInvalidArgument, "queries have dimension 7");
  expect_error([&] { mem_->search(MatrixView(k7, 7)); }, ErrorCode::kInvalidArgument, "dimension 7");
  expect_error([&] { mem_->retrieve(MatrixView(k7, 7)); }, ErrorCode::kInvalidArgument, "dimension 7");
  expect_error([&] { mem_->write(MatrixView(k8, 8), MatrixView(k7, 7)); }, ErrorCode::kInvalidArgument, "values have dimension 7");
  expect_error([&] { mem_->update({SlotPatch{ids_[0], std::vector<float>(7, 1.0f), std::nullopt, std::nullopt}}); },
               ErrorCode::kInvalidArgument, "dimension 7");
  expect_unchanged();
}

TEST_F(BadInputTest, MismatchedBatchShapes) {
  auto k = random_matrix(3, kDim, 4), v = random_matrix(2, kDim, 5);
  expect_error([&] { mem_->insert(MatrixView(k, kDim), MatrixView(v, kDim)); }, ErrorCode::kInvalidArgument, "3 keys but 2 values");
  auto v3 = random_matrix(3, kDim, 6);
  expect_error([&] { mem_->insert(MatrixView(k, kDim), MatrixView(v3, kDim), {"a", "b"}); }, ErrorCode::kInvalidArgument, "2 payloads");
  expect_error([&] { mem_->write(MatrixView(k, kDim), MatrixView(v, kDim)); }, ErrorCode::kInvalidArgument, "3 queries but 2 values");
  expect_unchanged();
}

TEST_F(BadInputTest, NanAndInf) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    auto k = random_matrix(4, kDim, 7);
    k[13] = bad;
    auto good = random_matrix(4, kDim, 8);
    expect_error([&] { mem_->insert(MatrixView(k, kDim), MatrixView(good, kDim)); }, ErrorCode::kInvalidArgument, "NaN or Inf at element 13");
    expect_error([&] { mem_->insert(MatrixView(good, kDim), MatrixView(k, kDim)); }, ErrorCode::kInvalidArgument, "values");
    expect_error([&] { mem_->read(MatrixView(k, kDim)); }, ErrorCode::kInvalidArgument, "NaN or Inf");
    expect_error([&] { mem_->write(MatrixView(good, kDim), MatrixView(k, kDim)); }, ErrorCode::kInvalidArgument, "NaN or Inf");
    expect_error([&] { mem_->update({SlotPatch{ids_[1], std::nullopt, std::vector<float>(kDim, bad), std::nullopt}}); },
                 ErrorCode::kInvalidArgument, "NaN or Inf");
  }
  expect_error([&] { mem_->read(MatrixView(keys_.data(), 1, kDim), {.k = 4, .temperature = std::nanf("")}); }, ErrorCode::kInvalidArgument, "temperature");
  expect_error([&] { mem_->read(MatrixView(keys_.data(), 1, kDim), {.k = 4, .temperature = -1.0f}); }, ErrorCode::kInvalidArgument, "temperature");
  expect_unchanged();
}

TEST_F(BadInputTest, KOutOfRange) {
  const MatrixView q(keys_.data(), 1, kDim);
  for (int k : {-1, kMaxK + 1}) {
    expect_error([&] { mem_->read(q, {.k = k}); }, ErrorCode::kInvalidArgument, "k must be in 1..4096");
    expect_error([&] { mem_->search(q, {.k = k}); }, ErrorCode::kInvalidArgument, "k must be");
    expect_error([&] { mem_->retrieve(q, k); }, ErrorCode::kInvalidArgument, "k must be");
    expect_error([&] { mem_->write(q, q, k); }, ErrorCode::kInvalidArgument, "k must be");
  }
  EXPECT_EQ(mem_->read(q, {.k = 0}).k, 32u) << "k = 0 means the memory's default_k";
  auto r = mem_->read(q, {.k = 100});  // more than the 50 slots: padded
  EXPECT_EQ(r.ids[50], kNoSlot);
  EXPECT_EQ(r.weights[50], 0.0f);
  expect_unchanged();
}

TEST_F(BadInputTest, UnknownIds) {
  expect_error([&] { mem_->get({ids_[0], 999}); }, ErrorCode::kNotFound, "slot 999 not found");
  expect_error([&] { mem_->erase({ids_[0], ids_[1], 999}); }, ErrorCode::kNotFound, "slot 999");
  expect_error([&] { mem_->update({SlotPatch{ids_[2], std::nullopt, std::vector<float>(kDim, 1.0f), std::nullopt},
                                   SlotPatch{12345, std::nullopt, std::vector<float>(kDim, 1.0f), std::nullopt}}); },
               ErrorCode::kNotFound, "slot 12345");
  expect_unchanged();
}

TEST_F(BadInputTest, UnknownMemory) {
  expect_error([&] { db_->memory("nope"); }, ErrorCode::kNotFound, "no memory named 'nope'");
  expect_error([&] { db_->describe("nope"); }, ErrorCode::kNotFound, "nope");
  expect_error([&] { db_->drop_memory("nope"); }, ErrorCode::kNotFound, "nope");
  EXPECT_FALSE(db_->has_memory("nope"));
}

TEST_F(BadInputTest, InvalidConfigsCreateNothing) {
  expect_error([&] { db_->create_memory("x", make_config(kDim, kDim, "Bogus99")); }, ErrorCode::kInvalidArgument, "'Bogus99' is not an index component");
  expect_error([&] { db_->create_memory("x", make_config(kDim, kDim, "IDMap,Flat")); }, ErrorCode::kInvalidArgument, "IDMap");
  expect_error([&] { db_->create_memory("x", make_config(0, kDim)); }, ErrorCode::kInvalidArgument, "key_dim");
  auto c = make_config(kDim, kDim);
  c.search_params = "nosuchparam=3";
  expect_error([&] { db_->create_memory("x", c); }, ErrorCode::kInvalidArgument, "search parameter 'nosuchparam=3'");
  c = make_config(kDim, kDim);
  c.device = "gpu";
#ifndef ENGRAM_WITH_GPU
  expect_error([&] { db_->create_memory("x", c); }, ErrorCode::kInvalidArgument, "ENGRAM_WITH_GPU");
#endif
  expect_error([&] { db_->create_memory("bad/name", make_config(kDim, kDim)); }, ErrorCode::kInvalidArgument, "invalid memory name");
  expect_error([&] { db_->create_memory(".hidden", make_config(kDim, kDim)); }, ErrorCode::kInvalidArgument, "invalid memory name");
  expect_error([&] { db_->create_memory("m", make_config(kDim, kDim)); }, ErrorCode::kAlreadyExists, "already exists");
  EXPECT_EQ(db_->list_memories(), std::vector<std::string>{"m"});
  expect_unchanged();
}

TEST(BadFolderTest, AFolderThatIsNotAnEngramDatabase) {
  TempDir dir;
  std::ofstream(dir.sub("notes.txt")) << "hello";
  expect_error([&] { Database::open(dir.path()); }, ErrorCode::kInvalidArgument, "not an Engram database");
  std::ofstream(dir.sub("afile")) << "x";
  expect_error([&] { Database::open(dir.sub("afile")); }, ErrorCode::kInvalidArgument, "not a folder");
  DatabaseOptions no_create;
  no_create.create_if_missing = false;
  expect_error([&] { Database::open(dir.sub("missing"), no_create); }, ErrorCode::kNotFound, "no database");
  EXPECT_FALSE(std::filesystem::exists(dir.sub("missing")));
  EXPECT_EQ(std::filesystem::file_size(dir.sub("notes.txt")), 5u) << "nothing was written into it";
}

TEST(BadFolderTest, ADatabaseAlreadyOpenIsLocked) {
  TempDir dir;
  auto db = Database::open(dir.path());
  expect_error([&] { Database::open(dir.path()); }, ErrorCode::kBusy, "already open");
}

TEST(BadFolderTest, CorruptOrTruncatedIndexCheckpointIsRebuiltFromTheStore) {
  TempDir dir;
  auto keys = random_matrix(300, kDim, 9);
  std::vector<SlotId> ids;
  {
    auto db = Database::open(dir.path());
    auto mem = db->create_memory("m", make_config(kDim, kDim, "HNSW16"));
    ids = mem->insert(MatrixView(keys, kDim), MatrixView(keys, kDim));
    mem->erase({ids[0], ids[1]});
  }
  const std::string idx = dir.sub("index/1.idx");
  ASSERT_TRUE(std::filesystem::exists(idx));
  for (const char* damage : {"flip", "truncate", "garbage"}) {
    SCOPED_TRACE(damage);
    {
      std::string bytes;
      {
        std::ifstream in(idx, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
      }
      if (std::string(damage) == "flip") bytes[bytes.size() / 2] ^= 0x5a;
      if (std::string(damage) == "truncate") bytes.resize(bytes.size() / 3);
      if (std::string(damage) == "garbage") bytes = "definitely not an index";
      std::ofstream(idx, std::ios::binary | std::ios::trunc) << bytes;
    }
    auto db = Database::open(dir.path());
    auto mem = db->memory("m");
    auto st = mem->stats();
    EXPECT_EQ(st.slots, 298u);
    EXPECT_EQ(st.indexed, 298u);
    auto s = mem->search(MatrixView(keys.data() + 2 * kDim, 1, kDim), {.k = 1});
    EXPECT_EQ(s.ids[0], ids[2]);
  }
}

}  // namespace
}  // namespace engram
