// Index strings that FAISS accepts but that crash, exhaust memory or never work are refused at
// creation and never built; a memory an older version created with one is reported, not fatal.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <thread>

#include "engram/engram.h"
#include "index/index_grammar.h"
#include "index/trial_build.h"
#include "storage/slot_store.h"
#include "tests/test_util.h"

namespace engram {
namespace {

using testing::make_config;
using testing::random_matrix;
using testing::TempDir;

ErrorCode code_of(const std::function<void()>& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  ADD_FAILURE() << "no engram::Error was thrown";
  return ErrorCode::kInternal;
}

struct Case {
  const char* index;
  int dim;
  const char* search_params;
  int ef_construction = 0;
};

// Each of these crashed the server, ate gigabytes or never worked (issue reports), or breaks a
// bound of the grammar.
const Case kRefused[] = {
    {"HNSW0", 8, ""},          {"HNSW0_Flat", 8, ""},      {"HNSW1", 8, ""},
    {"NSG32,Flat", 8, ""},     {"IVF0,Flat", 8, ""},       {"PCA5,Flat", 4, ""},
    {"PQ3", 4, ""},            {"IVF65536000,Flat", 8, ""}, {"HNSW100000", 8, ""},
    {"IDMap,Flat", 8, ""},     {"IDMap2,HNSW32", 8, ""},   {"garbage", 8, ""},
    {"", 8, ""},               {"Flat,", 8, ""},           {",Flat", 8, ""},
    {"HNSW32,Flat", 8, ""},    {"IVF16", 8, ""},           {"IVF16,Flat,Flat", 8, ""},
    {"PQ8x64", 8, ""},         {"OPQ3,PQ3", 8, ""},        {"HNSWlib1", 8, ""},
    {"HNSWlib", 8, ""},        {"IMI2x8,Flat", 8, ""},     {"HNSW32_PQ4x4", 8, ""},
    {"Flat", 8, "efSearch=64"}, {"HNSW32", 8, "efSearch=0"}, {"IVF16,Flat", 8, "nprobe=17"},
    {"IVF16,Flat", 8, "nprobe=0"}, {"HNSW32", 8, "ht=3"},  {"HNSW32", 8, "efSearch=1,"},
    {"RR0,Flat", 8, ""},       {"PCA0,Flat", 8, ""},       {"HNSW999999999999", 8, ""},
    {"LSH", 8, ""},
    {"Flat", 8, "", 100},      {"IVF16,Flat", 8, "", 100}, {"HNSW32", 8, "", -1},
    {"HNSWlib32", 8, "", 70000},
};

const Case kAccepted[] = {
    {"Flat", 8, ""},           {"HNSW32", 8, "efSearch=16"}, {"HNSW2", 8, ""},
    {"HNSW32_Flat", 8, ""},    {"HNSW16_SQ8", 8, ""},       {"HNSW16_PQ4", 8, ""},
    {"IVF16,Flat", 8, "nprobe=4"}, {"IVF16,PQ4", 8, ""},    {"IVF16,PQ4x6", 8, ""},
    {"IVF16,SQ8", 8, ""},      {"IVF16_HNSW8,Flat", 8, ""}, {"PQ4", 8, ""},
    {"SQfp16", 8, ""},         {"PCA4,Flat", 8, ""},
    {"OPQ4_8,IVF16,PQ4", 8, ""}, {"L2norm,Flat", 8, ""},    {"RR8,Flat", 8, ""},
    {"HNSWlib32", 8, "efSearch=32"}, {"HNSW32", 8, "", 16}, {"HNSWlib16", 8, "efSearch=8", 500},
};

TEST(IndexGrammarTest, RefusesWhatCannotWorkNamingIt) {
  for (const Case& c : kRefused) {
    std::string message;
    EXPECT_EQ(code_of([&] { index::check_index_spec({c.dim, Metric::kL2, c.index, c.search_params, "cpu", c.ef_construction}); },
                      &message),
              ErrorCode::kInvalidArgument)
        << c.index;
    EXPECT_NE(message.find(std::string("'") + c.index + "'"), std::string::npos) << message;
  }
}

TEST(IndexGrammarTest, AcceptsTheSupportedFamiliesAndTheyBuild) {
  for (const Case& c : kAccepted) {
    const index::IndexSpec spec{c.dim, Metric::kInnerProduct, c.index, c.search_params, "cpu", c.ef_construction};
    EXPECT_NO_THROW(index::check_index_spec(spec)) << c.index;
    EXPECT_NO_THROW(index::trial_build(spec)) << c.index;
  }
}

// The isolation itself: what would take down a server takes down only the child.
TEST(TrialBuildTest, ContainsCrashesMemoryExhaustionAndHangs) {
  const index::TrialLimits limits{3, std::size_t{64} << 20};
  std::string message;
  EXPECT_EQ(code_of([&] { index::run_isolated("trial: ", [] { std::raise(SIGSEGV); }, limits); }, &message),
            ErrorCode::kInvalidArgument);
  EXPECT_NE(message.find("SIGSEGV"), std::string::npos) << message;
  EXPECT_EQ(code_of([&] { index::run_isolated("trial: ", [] { std::raise(SIGFPE); }, limits); }, &message),
            ErrorCode::kInvalidArgument);
  EXPECT_NE(message.find("SIGFPE"), std::string::npos) << message;
  EXPECT_EQ(code_of([&] {
              index::run_isolated("trial: ", [] { std::vector<char> big(std::size_t{1} << 30, 1); (void)big; }, limits);
            }, &message),
            ErrorCode::kInvalidArgument);
  EXPECT_NE(message.find("needs more than 64 MiB"), std::string::npos) << message;
  EXPECT_EQ(code_of([&] {
              index::run_isolated("trial: ", [] { std::this_thread::sleep_for(std::chrono::seconds(60)); },
                                  index::TrialLimits{0.5, std::size_t{64} << 20});
            }, &message),
            ErrorCode::kInvalidArgument);
  EXPECT_NE(message.find("did not finish"), std::string::npos) << message;
  EXPECT_NO_THROW(index::run_isolated("trial: ", [] {}, limits));
}

// Inserts n random slots into a memory of 8-d keys and 4-d values.
void insert_random(Memory& m, std::size_t n, std::uint32_t seed) {
  auto keys = random_matrix(n, 8, seed), values = random_matrix(n, 4, seed + 1);
  m.insert(MatrixView(keys, 8), MatrixView(values, 4));
}

// What the server's crash loop started with: the memory must never be created.
TEST(IndexValidationTest, CreateRefusesCrashingIndexesAndRecordsNothing) {
  TempDir dir;
  auto db = Database::open(dir.path());
  // FAISS has run OpenMP work in this process before the trial forks (as in a busy server).
  auto flat = db->create_memory("flat", make_config(8, 4));
  insert_random(*flat, 64, 1);
  flat->search(MatrixView(random_matrix(64, 8, 1), 8), {.k = 4});
  for (const char* bad : {"HNSW0", "HNSW0_Flat", "HNSW1", "NSG32,Flat", "IVF0,Flat"}) {
    EXPECT_EQ(code_of([&] { db->create_memory("bad", make_config(8, 4, bad)); }), ErrorCode::kInvalidArgument) << bad;
    EXPECT_FALSE(db->has_memory("bad")) << bad;
  }
  EXPECT_EQ(code_of([&] { db->create_memory("bad", make_config(4, 4, "PCA5,Flat")); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(db->list_memories(), std::vector<std::string>{"flat"});
  // A trained type that is valid is created, and trains and searches once it has data.
  auto ivf = db->create_memory("ivf", make_config(8, 4, "PCA4,IVF4,Flat"));
  insert_random(*ivf, 1000, 3);
  EXPECT_TRUE(ivf->stats().trained);
  EXPECT_EQ(ivf->search(MatrixView(random_matrix(1, 8, 3), 8), {.k = 1}).ids.size(), 1u);
}

// A catalog entry an older version accepted ("HNSW0") must not crash the process that opens it:
// opening it is a clear error, the other memories work, and it can be dropped.
TEST(IndexValidationTest, AnUnopenableMemoryIsReportedAndCanBeDropped) {
  TempDir dir;
  {
    auto db = Database::open(dir.path());
    insert_random(*db->create_memory("good", make_config(8, 4)), 3, 1);
  }
  {
    // Written as an older Engram did: straight into the catalog, with slots.
    auto store = storage::SlotStore::open(dir.sub("store"), {});
    MemoryConfig bad = make_config(8, 4, "HNSW0");
    const auto entry = store->create_memory("old", config_to_json(bad));
    auto batch = store->new_batch(entry.id);
    auto keys = random_matrix(3, 8, 3), values = random_matrix(3, 4, 4);
    for (std::uint64_t i = 0; i < 3; ++i) {
      batch.put_key(i, keys.data() + i * 8, 8 * sizeof(float));
      batch.put_value(i, values.data() + i * 4, 4 * sizeof(float));
    }
    batch.log_index_op({1, storage::IndexOp::kAdd, {0, 1, 2}});
    batch.set_state({3, 3, 1});
    store->commit(batch, true);
  }
  auto db = Database::open(dir.path());
  std::string message;
  EXPECT_EQ(code_of([&] { db->memory("old"); }, &message), ErrorCode::kFailedPrecondition);
  EXPECT_NE(message.find("HNSW"), std::string::npos) << message;
  EXPECT_NE(message.find("drop"), std::string::npos) << message;
  EXPECT_EQ(db->memory("good")->stats().slots, 3u);
  db->drop_memory("old");
  EXPECT_EQ(db->list_memories(), std::vector<std::string>{"good"});
}

}  // namespace
}  // namespace engram
