// The vector subcommands of `engram`, run as real processes: exit codes, outputs, and an
// ingest killed with SIGKILL / interrupted with SIGINT, then resumed.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "engram/engram.h"
#include "ingest/tests/ingest_test_util.h"
#include "ingest/vector_file.h"
#include "storage/slot_store.h"
#include "tests/test_util.h"

namespace engram::ingest {
namespace {

using testing::run_engram;
using testing::Scratch;

std::vector<float> read_fvecs(const std::string& path) {
  auto r = VectorReader::open(path);
  std::vector<float> out;
  r->read(r->count(), &out);
  return out;
}

// Slot i holds record i, for every slot; returns the slot count.
std::uint64_t check_prefix(const std::string& db_path, const std::vector<float>& keys, std::size_t dim) {
  auto db = Database::open(db_path);
  if (!db->has_memory("m")) return 0;
  auto m = db->memory("m");
  const auto ids = m->list_ids();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(ids[i], i);
    EXPECT_EQ(m->get({ids[i]})[0].key, std::vector<float>(keys.begin() + i * dim, keys.begin() + (i + 1) * dim));
  }
  EXPECT_EQ(m->stats().indexed, ids.size());
  return ids.size();
}

TEST(IngestCli, UsageErrorsExitTwoAndHelpExitsZero) {
  EXPECT_EQ(run_engram({"ingest", "--help"}).exit_code, 0);
  EXPECT_NE(run_engram({"search", "--help"}).out.find("--queries"), std::string::npos);
  EXPECT_EQ(run_engram({"ingest", "--memory", "m", "x.fvecs"}).exit_code, 2);  // no --data
  EXPECT_EQ(run_engram({"search", "--data", "d", "--memory", "m"}).exit_code, 2);
  EXPECT_EQ(run_engram({"ingest", "--data", "d", "--memory", "m", "x.fvecs", "--index", "HNSW32"}).exit_code, 2);
  EXPECT_EQ(run_engram({"export", "--data", "d", "--memory", "m", "--out", "x.txt"}).exit_code, 2);
  EXPECT_EQ(run_engram({"search", "--data", "d", "--memory", "m", "--queries", "q", "--k", "0", "--out", "o"}).exit_code, 2);
}

// Standard-normal rows (testing::random_matrix): data on which a narrow graph or IVF search
// misses neighbours.
using engram::testing::random_matrix;

// The ids of an .ivecs file (each record: k, then k ids).
std::vector<std::int32_t> read_ivecs(const std::string& path) {
  const std::string bytes = testing::read_bytes(path);
  std::vector<std::int32_t> out;
  for (std::size_t at = 0; at + 4 <= bytes.size();) {
    std::int32_t k;
    std::memcpy(&k, bytes.data() + at, 4);
    at += 4;
    for (std::int32_t j = 0; j < k; ++j, at += 4) {
      std::int32_t id;
      std::memcpy(&id, bytes.data() + at, 4);
      out.push_back(id);
    }
  }
  return out;
}

// `engram search --ef/--nprobe` and `engram read --ef/--nprobe` search as the C++ call with the
// same SearchOptions does, and leave the memory's own setting as it was.
TEST(IngestCli, SearchAndReadTakeEfAndNprobe) {
  Scratch s;
  const std::string db = s / "db";
  const std::size_t dim = 32, n = 3000, nq = 100;
  const auto keys = random_matrix(n, dim, 1), queries = random_matrix(nq, dim, 2);
  testing::write_fvecs(s / "q.fvecs", queries, dim);
  struct Knob {
    const char* memory;
    const char* index;
    const char* search_params;
    const char* flag;
  };
  const Knob knobs[] = {{"hnsw", "HNSW32", "efSearch=16", "--ef"}, {"ivf", "IVF32,Flat", "nprobe=2", "--nprobe"}};
  std::map<std::string, std::vector<std::int32_t>> expected_ids;  // memory + setting -> ids
  std::map<std::string, std::vector<float>> expected_reads;
  {
    auto d = Database::open(db);
    for (const Knob& kn : knobs) {
      MemoryConfig c;
      c.key_dim = static_cast<int>(dim);
      c.value_dim = 4;
      c.metric = Metric::kL2;
      c.index = kn.index;
      c.search_params = kn.search_params;
      if (std::string(kn.flag) == "--ef") c.ef_construction = 32;
      auto m = d->create_memory(kn.memory, c);
      m->insert(MatrixView(keys, dim), MatrixView(random_matrix(n, 4, 3), 4));
      if (!m->stats().trained) m->train();
      for (int setting : {1, 32}) {
        SearchOptions o{.k = 10};
        (std::string(kn.flag) == "--ef" ? o.ef : o.nprobe) = setting;
        const std::string key = std::string(kn.memory) + std::to_string(setting);
        for (SlotId id : m->search(MatrixView(queries, dim), o).ids) expected_ids[key].push_back(static_cast<std::int32_t>(id));
        expected_reads[key] = m->read(MatrixView(queries, dim), o).reads;
      }
      const std::string own = std::string(kn.memory) + "own";
      for (SlotId id : m->search(MatrixView(queries, dim), {.k = 10}).ids) expected_ids[own].push_back(static_cast<std::int32_t>(id));
    }
  }
  for (const Knob& kn : knobs) {
    SCOPED_TRACE(kn.memory);
    ASSERT_NE(expected_ids[std::string(kn.memory) + "1"], expected_ids[std::string(kn.memory) + "32"]);
    for (int setting : {1, 32}) {
      const std::string key = std::string(kn.memory) + std::to_string(setting);
      auto r = run_engram({"search", "--data", db, "--memory", kn.memory, "--queries", s / "q.fvecs", "--k", "10",
                           kn.flag, std::to_string(setting), "--out", s / "ids.ivecs"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(read_ivecs(s / "ids.ivecs"), expected_ids[key]) << kn.flag << " " << setting;
      r = run_engram({"read", "--data", db, "--memory", kn.memory, "--queries", s / "q.fvecs", "--k", "10",
                      kn.flag, std::to_string(setting), "--out", s / "r.fvecs"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(read_fvecs(s / "r.fvecs"), expected_reads[key]) << kn.flag << " " << setting;
    }
    auto r = run_engram({"search", "--data", db, "--memory", kn.memory, "--queries", s / "q.fvecs", "--k", "10",
                         "--out", s / "ids.ivecs"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_ivecs(s / "ids.ivecs"), expected_ids[std::string(kn.memory) + "own"]);
    for (const char* bad : {"-1", "65537", "many"}) {
      EXPECT_EQ(run_engram({"search", "--data", db, "--memory", kn.memory, "--queries", s / "q.fvecs", kn.flag, bad,
                            "--out", s / "x.ivecs"}).exit_code, 2) << bad;
      EXPECT_EQ(run_engram({"read", "--data", db, "--memory", kn.memory, "--queries", s / "q.fvecs", kn.flag, bad,
                            "--out", s / "x.fvecs"}).exit_code, 2) << bad;
    }
  }
  EXPECT_NE(run_engram({"search", "--help"}).out.find("--nprobe"), std::string::npos);
  EXPECT_NE(run_engram({"read", "--help"}).out.find("--ef"), std::string::npos);
}

// `engram search --filter` and `engram read --filter` find what the C++ call with the same
// filter finds; a bad filter fails the command with the message naming the condition.
TEST(IngestCli, SearchAndReadTakeAFilter) {
  Scratch s;
  const std::string db = s / "db";
  const std::size_t dim = 8, n = 200, nq = 5;
  const auto keys = random_matrix(n, dim, 1), queries = random_matrix(nq, dim, 2);
  testing::write_fvecs(s / "q.fvecs", queries, dim);
  const std::string filter = R"({"must": [{"key": "even", "match": {"value": true}}]})";
  std::vector<std::int32_t> expected;
  std::vector<float> expected_reads;
  {
    auto d = Database::open(db);
    MemoryConfig c;
    c.key_dim = static_cast<int>(dim);
    c.value_dim = 4;
    auto m = d->create_memory("m", c);
    std::vector<std::string> payloads;
    for (std::size_t i = 0; i < n; ++i) payloads.push_back(std::string(R"({"even": )") + (i % 2 ? "false}" : "true}"));
    m->insert(MatrixView(keys, dim), MatrixView(random_matrix(n, 4, 3), 4), payloads);
    SearchOptions o{.k = 5};
    o.filter = Filter::parse(filter);
    for (SlotId id : m->search(MatrixView(queries, dim), o).ids) {
      EXPECT_EQ(id % 2, 0u);
      expected.push_back(static_cast<std::int32_t>(id));
    }
    expected_reads = m->read(MatrixView(queries, dim), o).reads;
  }
  auto r = run_engram({"search", "--data", db, "--memory", "m", "--queries", s / "q.fvecs", "--k", "5", "--filter",
                       filter, "--out", s / "ids.ivecs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_ivecs(s / "ids.ivecs"), expected);
  r = run_engram({"read", "--data", db, "--memory", "m", "--queries", s / "q.fvecs", "--k", "5", "--filter", filter,
                  "--out", s / "r.fvecs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_fvecs(s / "r.fvecs"), expected_reads);
  r = run_engram({"search", "--data", db, "--memory", "m", "--queries", s / "q.fvecs", "--filter",
                  R"({"must": [{"key": "even", "range": {"gt": "x"}}]})", "--out", s / "x.ivecs"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("filter.must[0].range.gt: must be a number, got a string"), std::string::npos) << r.err;
}

// `engram ingest --upsert`: records replaced by their external_id, so running it twice (or
// after changing some records) leaves one copy of each; `engram scroll` pages through them;
// export writes the external ids, and the export loads back with --upsert.
// numpy's default float64 keys (and float16 values) load, the summary names the conversion, and
// --json prints the summary as one object, for plain ingest and upsert alike.
TEST(IngestCli, ConvertsFloat64AndFloat16NpyAndPrintsJsonSummary) {
  Scratch s;
  const std::string db = s / "db";
  const std::size_t n = 50, dim = 4;
  const auto keys = testing::rows(n, dim);
  std::vector<double> k64(keys.begin(), keys.end());
  testing::write_npy_raw(s / "k.npy", "<f8", std::string(reinterpret_cast<const char*>(k64.data()), k64.size() * 8), n, dim);
  std::string v16;
  for (std::size_t i = 0; i < n; ++i) v16 += std::string("\x00\x3c", 2);  // 1.0 as a half, 1-d values
  testing::write_npy_raw(s / "v.npy", "<f2", v16, n, 1);
  auto r = run_engram({"ingest", "--data", db, "--memory", "m", "--create", "-q", "--values", s / "v.npy", s / "k.npy"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("converted: keys float64 -> float32, values float16 -> float32"), std::string::npos) << r.out;
  r = run_engram({"ingest", "--data", db, "--memory", "m", "-q", "--json", "--values", s / "v.npy", s / "k.npy"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["mode"], "ingest");
  EXPECT_EQ(j["records"], n);
  EXPECT_EQ(j["new_slots"], n);
  EXPECT_EQ(j["memory_slots"], 2 * n);
  EXPECT_EQ(j["converted"], "keys float64 -> float32, values float16 -> float32");
  EXPECT_GT(j["disk_bytes"].get<std::uint64_t>(), 0u);
  {
    auto d = Database::open(db);
    const Slot slot = d->memory("m")->get_one(7);
    EXPECT_EQ(slot.key, std::vector<float>(keys.begin() + 7 * dim, keys.begin() + 8 * dim));
    EXPECT_EQ(slot.value, std::vector<float>{1.0f});
  }
  testing::write_bytes(s / "u.jsonl", R"({"external_id":"a","key":[1,1,1,1],"value":[1]})" "\n");
  r = run_engram({"ingest", "--data", db, "--memory", "m", "--upsert", "-q", "--json", s / "u.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto u = nlohmann::json::parse(r.out);
  EXPECT_EQ(u["mode"], "upsert");
  EXPECT_EQ(u["new_slots"], 1);
  EXPECT_EQ(u["replaced"], 0);
  EXPECT_FALSE(u.contains("converted"));
}

// The issue's case: "HNSW32,PQ4" on 200 rows, a memory an older version created (written into
// the catalog here, as it did; this version refuses the string). `engram info` describes the
// database with that memory marked unavailable, rather than failing for all of it, and
// `engram drop` removes it.
TEST(IngestCli, InfoReportsAMemoryThatCannotBeBuiltAndDropRemovesIt) {
  Scratch s;
  const std::string db = s / "db";
  const std::size_t n = 200, dim = 16;
  const auto keys = random_matrix(n, dim, 5), values = random_matrix(n, 4, 6);
  testing::write_fvecs(s / "k.fvecs", keys, dim);
  testing::write_fvecs(s / "v.fvecs", values, 4);
  auto r = run_engram({"ingest", "--data", db, "--memory", "good", "--create", "-q", "--values", s / "v.fvecs", s / "k.fvecs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Creating it today is refused, naming the index.
  r = run_engram({"ingest", "--data", db, "--memory", "bad", "--create", "--index", "HNSW32,PQ4", "-q", "--values",
                  s / "v.fvecs", s / "k.fvecs"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("HNSW32,PQ4"), std::string::npos) << r.err;
  {
    auto store = storage::SlotStore::open(db + "/store", {});
    MemoryConfig old;
    old.key_dim = static_cast<int>(dim);
    old.value_dim = 4;
    old.index = "HNSW32,PQ4";
    const auto entry = store->create_memory("old", config_to_json(old));
    auto batch = store->new_batch(entry.id);
    std::vector<std::uint64_t> ids;
    for (std::uint64_t i = 0; i < n; ++i) {
      batch.put_key(i, keys.data() + i * dim, dim * sizeof(float));
      batch.put_value(i, values.data() + i * 4, 4 * sizeof(float));
      ids.push_back(i);
    }
    batch.log_index_op({1, storage::IndexOp::kAdd, ids});
    batch.set_state({n, n, 1});
    store->commit(batch, true);
  }
  r = run_engram({"info", "--data", db, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto info = nlohmann::json::parse(r.out);
  ASSERT_EQ(info["memories"].size(), 2u) << info;
  EXPECT_EQ(info["memories"][0]["name"], "good");
  EXPECT_EQ(info["memories"][0]["state"], "ready");
  EXPECT_EQ(info["memories"][0]["slots"], n);
  EXPECT_EQ(info["memories"][1]["name"], "old");
  EXPECT_EQ(info["memories"][1]["state"], "unavailable");
  EXPECT_NE(info["memories"][1]["error"].get<std::string>().find("drop it"), std::string::npos) << info;
  r = run_engram({"info", "--data", db});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("good: 200 slots"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("old: unavailable: memory 'old' cannot be opened"), std::string::npos) << r.out;
  r = run_engram({"info", "--data", db, "--memory", "nope"});
  EXPECT_EQ(r.exit_code, 1);  // an unknown name is still an error
  // A snapshot of the database still works: that memory is copied as it is on disk.
  r = run_engram({"snapshot", "--data", db, "--out", s / "snap"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Database::open(s / "snap")->list_memories(), (std::vector<std::string>{"good", "old"}));

  r = run_engram({"drop", "--data", db, "--memory", "old"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_engram({"info", "--data", db, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["memories"].size(), 1u);
}

// engram restore makes a database from a snapshot that holds what the source held: the same
// memories, configs, slots (keys, values, payloads) and search answers; the snapshot stays.
TEST(IngestCli, RestoredSnapshotEqualsTheSource) {
  Scratch s;
  const std::string db = s / "db";
  {
    auto d = Database::open(db);
    MemoryConfig flat;
    flat.key_dim = 8;
    flat.value_dim = 3;
    auto a = d->create_memory("a", flat);
    const auto k = random_matrix(300, 8, 1), v = random_matrix(300, 3, 2);
    std::vector<std::string> payloads;
    for (int i = 0; i < 300; ++i) payloads.push_back("{\"n\":" + std::to_string(i) + "}");
    a->insert(MatrixView(k, 8), MatrixView(v, 3), payloads);
    a->erase({5, 6});
    MemoryConfig hnsw = flat;
    hnsw.index = "HNSW16";
    hnsw.metric = Metric::kL2;
    auto b = d->create_memory("b", hnsw);
    const auto kb = random_matrix(200, 8, 3), vb = random_matrix(200, 3, 4);
    b->insert(MatrixView(kb, 8), MatrixView(vb, 3));
  }
  auto r = run_engram({"snapshot", "--data", db, "--out", s / "snap"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_engram({"restore", s / "snap", "--data", s / "restored"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("2 memories, 498 slots"), std::string::npos) << r.out;
  {
    auto src = Database::open(db), dst = Database::open(s / "restored");
    ASSERT_EQ(dst->list_memories(), src->list_memories());
    const auto q = random_matrix(5, 8, 9);
    for (const auto& name : src->list_memories()) {
      auto m = src->memory(name), c = dst->memory(name);
      EXPECT_EQ(config_to_json(c->config()), config_to_json(m->config())) << name;
      ASSERT_EQ(c->list_ids(), m->list_ids()) << name;
      const auto a = m->get(m->list_ids()), b = c->get(c->list_ids());
      for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(b[i].key, a[i].key);
        EXPECT_EQ(b[i].value, a[i].value);
        EXPECT_EQ(b[i].payload, a[i].payload);
      }
      EXPECT_EQ(c->search(MatrixView(q, 8), {.k = 5}).ids, m->search(MatrixView(q, 8), {.k = 5}).ids) << name;
      EXPECT_EQ(c->stats().next_id, m->stats().next_id) << name;
    }
  }
  EXPECT_TRUE(std::filesystem::exists(s / "snap/ENGRAM"));  // copied, not moved
  // A folder with data in it is never overwritten; a folder that is no snapshot is refused.
  r = run_engram({"restore", s / "snap", "--data", s / "restored"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not empty"), std::string::npos) << r.err;
  r = run_engram({"restore", s / "restored/index", "--data", s / "other"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not an Engram snapshot"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(s / "other"));
}

TEST(IngestCli, UpsertTwiceLeavesOneCopyAndScrollPagesThroughIt) {
  Scratch s;
  const std::string db = s / "db";
  auto records = [](float scale, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
      nlohmann::json id = i % 2 ? nlohmann::json("doc-" + std::to_string(i)) : nlohmann::json(i);
      out += nlohmann::json({{"external_id", id}, {"key", {scale * i, 1.0f, 0.0f, 0.5f}}, {"value", {scale * i, 2.0f}},
                             {"payload", {{"n", i}}}}).dump() + "\n";
    }
    return out;
  };
  testing::write_bytes(s / "a.jsonl", records(1.0f, 30));
  auto r = run_engram({"ingest", "--data", db, "--memory", "m", "--create", "--upsert", "-q", s / "a.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("30 new slots, 0 replaced"), std::string::npos) << r.out;
  r = run_engram({"ingest", "--data", db, "--memory", "m", "--upsert", "-q", s / "a.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0 new slots, 30 replaced; it holds 30 slots"), std::string::npos) << r.out;
  testing::write_bytes(s / "b.jsonl", records(2.0f, 40));  // 30 changed, 10 new
  r = run_engram({"ingest", "--data", db, "--memory", "m", "--upsert", "-q", s / "b.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  {
    auto d = Database::open(db);
    auto m = d->memory("m");
    EXPECT_EQ(m->count(), 40u);
    const Slot doc3 = m->get_one(m->resolve({"doc-3"})[0]);
    EXPECT_EQ(doc3.value, (std::vector<float>{6.0f, 2.0f}));
    EXPECT_EQ(m->get_one(m->resolve({std::uint64_t{4}})[0]).key[0], 8.0f);
  }
  // Without --upsert, records with external ids are refused (a bulk load would duplicate them).
  r = run_engram({"ingest", "--data", db, "--memory", "m", "-q", s / "a.jsonl"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--upsert"), std::string::npos) << r.err;
  // A record without an id is named, and its chunk changes nothing.
  testing::write_bytes(s / "c.jsonl", R"({"external_id":"new","key":[1,1,1,1],"value":[1,1]})" "\n"
                                      R"({"key":[1,1,1,1],"value":[1,1]})" "\n");
  r = run_engram({"ingest", "--data", db, "--memory", "m", "--upsert", "-q", s / "c.jsonl"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("record 2 has no \"external_id\""), std::string::npos) << r.err;

  // Scroll: pages of 15 with the cursor, then a filtered page with keys.
  std::vector<SlotId> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    std::vector<std::string> args = {"scroll", "--data", db, "--memory", "m", "--limit", "15"};
    if (!cursor.empty()) args.insert(args.end(), {"--cursor", cursor});
    r = run_engram(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    for (const auto& slot : j["slots"]) seen.push_back(slot["id"].get<SlotId>());
    if (j["next_cursor"].is_null()) break;
    cursor = j["next_cursor"].get<std::string>();
  }
  ASSERT_EQ(seen.size(), 40u);
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i);
  r = run_engram({"scroll", "--data", db, "--memory", "m", "--with-keys", "--filter",
                  R"({"must":[{"key":"n","range":{"gte":38}}]})"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto page = nlohmann::json::parse(r.out);
  ASSERT_EQ(page["slots"].size(), 2u);
  EXPECT_EQ(page["slots"][0]["external_id"], 38);
  EXPECT_EQ(page["slots"][1]["external_id"], "doc-39");
  EXPECT_EQ(page["slots"][1]["key"][0], 78.0);

  // Export keeps the ids; the export loads back into another memory with --upsert, twice.
  r = run_engram({"export", "--data", db, "--memory", "m", "--out", s / "out.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (int i = 0; i < 2; ++i) {
    r = run_engram({"ingest", "--data", db, "--memory", "copy", "--create", "--upsert", "-q", s / "out.jsonl"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  auto d = Database::open(db);
  EXPECT_EQ(d->memory("copy")->count(), 40u);
  EXPECT_EQ(d->memory("copy")->get_one(d->memory("copy")->resolve({"doc-39"})[0]).payload, R"({"n":39})");
}

TEST(IngestCli, IngestSearchReadInfoExportCompactSnapshot) {
  Scratch s;
  const std::string db = s / "db";
  const auto keys = testing::rows(3000, 8), values = testing::rows(3000, 4, 5);
  testing::write_fvecs(s / "k.fvecs", keys, 8);
  testing::write_fvecs(s / "v.fvecs", values, 4);
  auto r = run_engram({"ingest", "--data", db, "--memory", "m", "--create", "--index", "HNSW16", "--metric", "l2",
                       "--values", s / "v.fvecs", "--chunk-rows", "700", "--progress", "lines",
                       "--progress-every", "0", s / "k.fvecs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ingested 3000 slots into 'm'"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("slots/s"), std::string::npos) << r.err;  // the progress line shows the rate
  EXPECT_NE(r.err.find("ETA"), std::string::npos) << r.err;

  // Appending without --create; a missing memory or file is a runtime error (1) naming it.
  r = run_engram({"ingest", "--data", db, "--memory", "m", "--values", s / "v.fvecs", "-q", s / "k.fvecs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_engram({"ingest", "--data", db, "--memory", "zz", "--values", s / "v.fvecs", s / "k.fvecs"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no memory named 'zz'"), std::string::npos) << r.err;
  r = run_engram({"ingest", "--data", db, "--memory", "m", "--values", s / "missing.fvecs", s / "k.fvecs"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.fvecs: cannot open"), std::string::npos) << r.err;

  r = run_engram({"info", "--data", db, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto info = nlohmann::json::parse(r.out);
  EXPECT_EQ(info["memories"][0]["slots"], 6000);
  EXPECT_EQ(info["memories"][0]["key_dim"], 8);
  EXPECT_EQ(info["memories"][0]["index"], "HNSW16");
  EXPECT_GT(info["disk_bytes"].get<std::uint64_t>(), 6000u * 48);
  r = run_engram({"info", "--data", db});
  EXPECT_NE(r.out.find("m: 6000 slots"), std::string::npos) << r.out;

  // Queries = records 10 and 20: their nearest slots (l2) are slots 10/3010 and 20/3020.
  std::vector<float> q(keys.begin() + 10 * 8, keys.begin() + 11 * 8);
  q.insert(q.end(), keys.begin() + 20 * 8, keys.begin() + 21 * 8);
  testing::write_fvecs(s / "q.fvecs", q, 8);
  r = run_engram({"search", "--data", db, "--memory", "m", "--queries", s / "q.fvecs", "--k", "2", "--out",
                  s / "ids.ivecs", "--scores", s / "scores.fvecs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string ids = testing::read_bytes(s / "ids.ivecs");
  ASSERT_EQ(ids.size(), 2u * (4 + 2 * 4));
  std::int32_t rec[3];
  std::memcpy(rec, ids.data(), 12);
  EXPECT_EQ(rec[0], 2);
  EXPECT_TRUE((rec[1] == 10 && rec[2] == 3010) || (rec[1] == 3010 && rec[2] == 10)) << rec[1] << " " << rec[2];
  EXPECT_EQ(read_fvecs(s / "scores.fvecs")[0], 0.0f);

  r = run_engram({"read", "--data", db, "--memory", "m", "--queries", s / "q.fvecs", "--k", "2", "--out", s / "r.fvecs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto reads = read_fvecs(s / "r.fvecs");
  ASSERT_EQ(reads.size(), 8u);
  EXPECT_NEAR(reads[0], values[10 * 4], 1e-4);  // both slots hold record 10's value

  r = run_engram({"export", "--data", db, "--memory", "m", "--out", s / "ek.fvecs", "--values-out", s / "ev.fvecs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto ek = read_fvecs(s / "ek.fvecs");
  ASSERT_EQ(ek.size(), 6000u * 8);
  EXPECT_EQ(std::vector<float>(ek.begin(), ek.begin() + 3000 * 8), keys);
  EXPECT_EQ(std::vector<float>(ek.begin() + 3000 * 8, ek.end()), keys);
  EXPECT_EQ(read_fvecs(s / "ev.fvecs").size(), 6000u * 4);
  r = run_engram({"export", "--data", db, "--memory", "m", "--out", s / "all.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // JSON Lines round trip: the export ingests into a new memory as the same slots.
  r = run_engram({"ingest", "--data", db, "--memory", "copy", "--create", "-q", s / "all.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  {
    auto d = Database::open(db);
    auto copy = d->memory("copy");
    EXPECT_EQ(copy->stats().slots, 6000u);
    EXPECT_EQ(copy->get({4321})[0].value, d->memory("m")->get({4321})[0].value);
    d->memory("m")->erase({1, 2, 3});
  }
  r = run_engram({"compact", "--data", db, "--memory", "m"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("5997 slots, 3 tombstones dropped"), std::string::npos) << r.out;

  r = run_engram({"snapshot", "--data", db, "--out", s / "snap"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_engram({"info", "--data", s / "snap", "--memory", "m", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["memories"][0]["slots"], 5997);
  r = run_engram({"snapshot", "--data", db, "--out", s / "snap"});
  EXPECT_EQ(r.exit_code, 1);  // exists
  r = run_engram({"snapshot", "--data", db, "--out", s / "snap-copy", "--memory", "copy"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Database::open(s / "snap-copy")->list_memories(), std::vector<std::string>{"copy"});
  r = run_engram({"snapshot", "--data", db, "--out", s / "snap-none", "--memory", "nope"});
  EXPECT_EQ(r.exit_code, 1);  // no such memory; nothing written
  EXPECT_FALSE(std::filesystem::exists(s / "snap-none"));
  r = run_engram({"info", "--data", s / "nowhere"});
  EXPECT_EQ(r.exit_code, 1);

  r = run_engram({"drop", "--data", db, "--memory", "copy"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_engram({"drop", "--data", db, "--memory", "copy"});
  EXPECT_EQ(r.exit_code, 1);  // no such memory any more
  EXPECT_EQ(Database::open(db)->list_memories(), std::vector<std::string>{"m"});
}

TEST(IngestCli, BadInputIsRejectedWholeWithFileAndRecord) {
  Scratch s;
  const std::string db = s / "db";
  auto keys = testing::rows(1000, 4);
  testing::write_fvecs(s / "v.fvecs", testing::rows(1000, 2), 2);
  keys[900 * 4 + 1] = std::numeric_limits<float>::infinity();
  testing::write_fvecs(s / "k.fvecs", keys, 4);
  auto r = run_engram({"ingest", "--data", db, "--memory", "m", "--create", "--chunk-rows", "100", "-q",
                       "--values", s / "v.fvecs", s / "k.fvecs"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("k.fvecs: record 901 holds a NaN or Inf"), std::string::npos) << r.err;
  EXPECT_EQ(check_prefix(db, keys, 4), 0u);  // the memory exists (it was created) but is empty
  testing::write_bytes(s / "bad.jsonl", "{\"key\":[1,2],\"value\":[1,2]}\n{\"key\":[1],\"value\":[1,2]}\n");
  r = run_engram({"ingest", "--data", db, "--memory", "j", "--create", "-q", s / "bad.jsonl"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.jsonl: line 2"), std::string::npos) << r.err;
  // --max-line-bytes bounds a line: the reader refuses it by number instead of holding it whole.
  testing::write_bytes(s / "long.jsonl", "{\"key\":[1,2],\"value\":[1,2]}\n{\"key\":[1,2],\"value\":[1,2],\"payload\":\"" +
                                             std::string(200, 'p') + "\"}\n");
  r = run_engram({"ingest", "--data", db, "--memory", "l", "--create", "-q", "--max-line-bytes", "100", s / "long.jsonl"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("long.jsonl: line 2: longer than 100 bytes"), std::string::npos) << r.err;
}

// Kills `engram ingest` (SIGKILL) right after it reported a committed chunk, checks that what
// is visible is a whole prefix of the file, then resumes and checks the whole file, once.
TEST(IngestCli, KilledIngestLeavesWholeChunksAndResumesWithoutDuplicates) {
  Scratch s;
  const std::string db = s / "db";
  const std::size_t n = 20000, dim = 16;
  const auto keys = testing::rows(n, dim);
  testing::write_fvecs(s / "k.fvecs", keys, dim);
  testing::write_fvecs(s / "v.fvecs", testing::rows(n, 4), 4);
  const std::vector<std::string> args{"ingest", "--data", db, "--memory", "m", "--create", "--index", "HNSW16",
                                      "--values", s / "v.fvecs", "--chunk-rows", "500", "--progress", "lines",
                                      "--progress-every", "0", s / "k.fvecs"};
  auto c = testing::spawn_engram(args);
  std::string seen;
  ASSERT_TRUE(testing::wait_for_output(c, "ingest:", &seen)) << seen;  // >= 1 chunk committed
  kill(c.pid, SIGKILL);
  EXPECT_EQ(testing::wait_child(c), -SIGKILL);
  const std::uint64_t visible = check_prefix(db, keys, dim);
  EXPECT_EQ(visible % 500, 0u) << "a chunk is visible whole or not at all";
  EXPECT_GT(visible, 0u);

  auto refused = run_engram(std::vector<std::string>(args.begin(), args.end()));
  EXPECT_EQ(refused.exit_code, 1);  // --create on a memory with a pending job, without --resume
  auto a = args;
  a.push_back("--resume");
  auto r = run_engram(a);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(check_prefix(db, keys, dim), n);
  r = run_engram(a);  // resuming again: nothing to do
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(check_prefix(db, keys, dim), n);
}

TEST(IngestCli, SigintStopsAtAChunkBoundaryAndAbortUndoes) {
  Scratch s;
  const std::string db = s / "db";
  const std::size_t n = 20000, dim = 16;
  const auto keys = testing::rows(n, dim);
  testing::write_fvecs(s / "k.fvecs", keys, dim);
  testing::write_fvecs(s / "v.fvecs", testing::rows(n, 4), 4);
  {
    auto d = Database::open(db);
    MemoryConfig cfg;
    cfg.key_dim = 16;
    cfg.value_dim = 4;
    cfg.index = "HNSW16";
    d->create_memory("m", cfg);
  }
  auto c = testing::spawn_engram({"ingest", "--data", db, "--memory", "m", "--values", s / "v.fvecs",
                                  "--chunk-rows", "500", "--progress", "lines", "--progress-every", "0",
                                  s / "k.fvecs"});
  std::string seen;
  ASSERT_TRUE(testing::wait_for_output(c, "ingest:", &seen)) << seen;
  kill(c.pid, SIGINT);
  const int code = testing::wait_child(c);
  if (code == 0) GTEST_SKIP() << "the ingest finished before SIGINT arrived";
  EXPECT_EQ(code, 130);
  const std::uint64_t visible = check_prefix(db, keys, dim);
  EXPECT_EQ(visible % 500, 0u);
  auto r = run_engram({"ingest", "--data", db, "--memory", "m", "--abort"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(check_prefix(db, keys, dim), 0u);
  r = run_engram({"ingest", "--data", db, "--memory", "m", "--abort"});
  EXPECT_EQ(r.exit_code, 1);  // nothing to undo
}

}  // namespace
}  // namespace engram::ingest
