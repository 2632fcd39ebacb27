// conformance_test.cc — one suite, run against the embedded Memory and against RemoteMemory
// talking to a real server on 127.0.0.1. Code written against MemoryInterface must not be able
// to tell them apart: same results, same error codes.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include <engram/engram.h>
#include <engram/remote_memory.h>
#include <engram/server.h>

#include "test_support.h"

namespace engram {
namespace {

using server::testing::random_matrix;
using server::testing::TempDir;

constexpr int kKeyDim = 8;
constexpr int kValueDim = 4;

MemoryConfig test_config() {
  MemoryConfig c;
  c.key_dim = kKeyDim;
  c.value_dim = kValueDim;
  c.index = "Flat";  // exact, so expected results can be computed by hand
  c.temperature = 0.5f;
  c.gate_bias = -0.25f;
  c.default_k = 4;
  return c;
}

struct EmbeddedBackend {
  static constexpr const char* kName = "embedded";
  TempDir dir;
  std::unique_ptr<Database> db = Database::open(dir.path());
  std::shared_ptr<MemoryInterface> create(const std::string& name, const MemoryConfig& c) {
    return db->create_memory(name, c);
  }
};

struct RemoteBackend {
  static constexpr const char* kName = "remote";
  TempDir dir;
  std::unique_ptr<server::Server> srv;
  std::unique_ptr<RemoteDatabase> db;
  RemoteBackend() {
    server::ServerOptions o;
    o.data_dir = dir.path();
    o.port = 0;
    o.threads = 4;
    srv = std::make_unique<server::Server>(o);
    RemoteOptions r;
    r.port = srv->port();
    db = std::make_unique<RemoteDatabase>(r);
  }
  std::shared_ptr<MemoryInterface> create(const std::string& name, const MemoryConfig& c) {
    return db->create_memory(name, c);
  }
};

template <class Backend>
class Conformance : public ::testing::Test {
 protected:
  void SetUp() override {
    mem_ = backend_.create("conf", test_config());
    keys_ = random_matrix(20, kKeyDim, 11);
    values_ = random_matrix(20, kValueDim, 12);
    for (int i = 0; i < 20; ++i) payloads_.push_back("slot-" + std::to_string(i));
    ids_ = mem_->insert(MatrixView(keys_, kKeyDim), MatrixView(values_, kValueDim), payloads_);
  }

  // Exact top-k by inner product, best first.
  std::vector<std::pair<float, int>> top_k(const float* q, int k) {
    std::vector<std::pair<float, int>> s;
    for (int i = 0; i < 20; ++i) {
      float dot = 0;
      for (int d = 0; d < kKeyDim; ++d) dot += q[d] * keys_[i * kKeyDim + d];
      s.push_back({dot, i});
    }
    std::sort(s.begin(), s.end(), [](auto& a, auto& b) { return a.first > b.first; });
    s.resize(k);
    return s;
  }

  template <class F>
  void expect_code(ErrorCode code, F&& f) {
    try {
      f();
      ADD_FAILURE() << "no error thrown, expected " << error_code_name(code);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
    }
  }

  Backend backend_;
  std::shared_ptr<MemoryInterface> mem_;
  std::vector<float> keys_, values_;
  std::vector<std::string> payloads_;
  std::vector<SlotId> ids_;
};

struct BackendNames {
  template <class T>
  static std::string GetName(int) { return T::kName; }
};
using Backends = ::testing::Types<EmbeddedBackend, RemoteBackend>;
TYPED_TEST_SUITE(Conformance, Backends, BackendNames);

TYPED_TEST(Conformance, ConfigAndStats) {
  MemoryConfig c = this->mem_->config();
  EXPECT_EQ(c.key_dim, kKeyDim);
  EXPECT_EQ(c.value_dim, kValueDim);
  EXPECT_EQ(c.index, "Flat");
  EXPECT_FLOAT_EQ(c.temperature, 0.5f);
  MemoryStats s = this->mem_->stats();
  EXPECT_EQ(s.slots, 20u);
  EXPECT_EQ(s.indexed, 20u);
  EXPECT_EQ(this->mem_->count(), 20u);
}

TYPED_TEST(Conformance, InsertThenGet) {
  ASSERT_EQ(this->ids_.size(), 20u);
  auto slots = this->mem_->get({this->ids_[3], this->ids_[0]});
  ASSERT_EQ(slots.size(), 2u);
  EXPECT_EQ(slots[0].id, this->ids_[3]);
  EXPECT_EQ(slots[0].payload, "slot-3");
  EXPECT_EQ(slots[0].key, std::vector<float>(this->keys_.begin() + 3 * kKeyDim, this->keys_.begin() + 4 * kKeyDim));
  EXPECT_EQ(slots[1].value, std::vector<float>(this->values_.begin(), this->values_.begin() + kValueDim));
  SlotId one = this->mem_->insert_one(std::vector<float>(kKeyDim, 0.5f), std::vector<float>(kValueDim, 2.0f), "one");
  EXPECT_EQ(this->mem_->get_one(one).payload, "one");
}

TYPED_TEST(Conformance, ReadIsSoftmaxAttention) {
  auto q = random_matrix(2, kKeyDim, 99);
  ReadResult r = this->mem_->read(MatrixView(q, kKeyDim), {.k = 5});
  ASSERT_EQ(r.k, 5u);
  ASSERT_EQ(r.ids.size(), 10u);
  ASSERT_EQ(r.reads.size(), 2u * kValueDim);
  for (int row = 0; row < 2; ++row) {
    auto top = this->top_k(q.data() + row * kKeyDim, 5);
    double z = 0;
    for (auto& [s, i] : top) z += std::exp((s - top[0].first) / 0.5);
    for (int j = 0; j < 5; ++j) {
      EXPECT_EQ(r.ids[row * 5 + j], this->ids_[top[j].second]);
      EXPECT_NEAR(r.weights[row * 5 + j], std::exp((top[j].first - top[0].first) / 0.5) / z, 1e-4);
    }
    for (int d = 0; d < kValueDim; ++d) {
      double expect = 0;
      for (int j = 0; j < 5; ++j) expect += r.weights[row * 5 + j] * this->values_[top[j].second * kValueDim + d];
      EXPECT_NEAR(r.reads[row * kValueDim + d], expect, 1e-4);
    }
  }
  // k = 0 is the memory's default_k.
  EXPECT_EQ(this->mem_->read(MatrixView(q, kKeyDim)).k, 4u);
}

TYPED_TEST(Conformance, RetrieveAndSearch) {
  auto q = random_matrix(1, kKeyDim, 5);
  RetrieveResult r = this->mem_->retrieve(MatrixView(q, kKeyDim), 3, true);
  SearchResult s = this->mem_->search(MatrixView(q, kKeyDim), {.k = 3, .with_payloads = true});
  auto top = this->top_k(q.data(), 3);
  ASSERT_EQ(r.ids.size(), 3u);
  ASSERT_EQ(r.keys.size(), 3u * kKeyDim);
  ASSERT_EQ(r.values.size(), 3u * kValueDim);
  ASSERT_EQ(r.payloads.size(), 3u);
  for (int j = 0; j < 3; ++j) {
    int i = top[j].second;
    EXPECT_EQ(r.ids[j], this->ids_[i]);
    EXPECT_EQ(s.ids[j], this->ids_[i]);
    EXPECT_NEAR(r.scores[j], top[j].first, 1e-4);
    EXPECT_NEAR(s.scores[j], top[j].first, 1e-4);
    EXPECT_EQ(r.payloads[j], this->payloads_[i]);
    EXPECT_EQ(s.payloads[j], this->payloads_[i]);
    for (int d = 0; d < kKeyDim; ++d) EXPECT_EQ(r.keys[j * kKeyDim + d], this->keys_[i * kKeyDim + d]);
    for (int d = 0; d < kValueDim; ++d) EXPECT_EQ(r.values[j * kValueDim + d], this->values_[i * kValueDim + d]);
  }
  EXPECT_TRUE(this->mem_->search(MatrixView(q, kKeyDim), {.k = 3, .with_payloads = false}).payloads.empty());
  // Fewer slots than k: padded with kNoSlot.
  SearchResult wide = this->mem_->search(MatrixView(q, kKeyDim), {.k = 25});
  ASSERT_EQ(wide.ids.size(), 25u);
  for (int j = 20; j < 25; ++j) EXPECT_EQ(wide.ids[j], kNoSlot);
}

TYPED_TEST(Conformance, WriteIsGated) {
  auto q = random_matrix(1, kKeyDim, 21);
  std::vector<float> w(kValueDim, 3.0f);
  auto top = this->top_k(q.data(), 2);
  WriteResult r = this->mem_->write(MatrixView(q, kKeyDim), MatrixView(w, kValueDim), 2);
  ASSERT_EQ(r.ids.size(), 2u);
  for (int j = 0; j < 2; ++j) {
    int i = top[j].second;
    EXPECT_EQ(r.ids[j], this->ids_[i]);
    float g = 1.0f / (1.0f + std::exp(-(top[j].first - 0.25f)));
    EXPECT_NEAR(r.gates[j], g, 1e-4);
    Slot s = this->mem_->get_one(this->ids_[i]);
    for (int d = 0; d < kValueDim; ++d)
      EXPECT_NEAR(s.value[d], g * 3.0f + (1 - g) * this->values_[i * kValueDim + d], 1e-4);
    EXPECT_EQ(s.key, std::vector<float>(this->keys_.begin() + i * kKeyDim, this->keys_.begin() + (i + 1) * kKeyDim));
  }
}

TYPED_TEST(Conformance, UpdateAndErase) {
  SlotPatch p;
  p.id = this->ids_[2];
  p.payload = "patched";
  p.value = std::vector<float>(kValueDim, 7.0f);
  this->mem_->update({p});
  Slot s = this->mem_->get_one(this->ids_[2]);
  EXPECT_EQ(s.payload, "patched");
  EXPECT_EQ(s.value, std::vector<float>(kValueDim, 7.0f));
  this->mem_->erase({this->ids_[2], this->ids_[5]});
  EXPECT_EQ(this->mem_->count(), 18u);
  this->expect_code(ErrorCode::kNotFound, [&] { this->mem_->get({this->ids_[2]}); });
  this->mem_->erase_one(this->ids_[6], WriteOptions{false});
  EXPECT_EQ(this->mem_->count(), 17u);
}

TYPED_TEST(Conformance, InvalidInputThrowsTheSameCodesAndChangesNothing) {
  auto& mem = *this->mem_;
  std::vector<float> short_rows(3 * 5, 1.0f);
  std::vector<float> v(kValueDim, 1.0f), k(kKeyDim, 1.0f);
  std::vector<float> nan_key(kKeyDim, std::numeric_limits<float>::quiet_NaN());
  this->expect_code(ErrorCode::kInvalidArgument,
                    [&] { mem.insert(MatrixView(short_rows, 5), MatrixView(short_rows.data(), 3, kValueDim)); });
  this->expect_code(ErrorCode::kInvalidArgument, [&] { mem.insert(MatrixView(nan_key, kKeyDim), MatrixView(v, kValueDim)); });
  this->expect_code(ErrorCode::kInvalidArgument,
                    [&] { mem.insert(MatrixView(k, kKeyDim), MatrixView(v, kValueDim), {"a", "b"}); });
  this->expect_code(ErrorCode::kInvalidArgument, [&] { mem.read(MatrixView(k, kKeyDim), {.k = kMaxK + 1}); });
  this->expect_code(ErrorCode::kInvalidArgument, [&] { mem.search(MatrixView(k, kKeyDim), {.k = -3}); });
  this->expect_code(ErrorCode::kInvalidArgument, [&] { mem.read(MatrixView(nan_key, kKeyDim), {.k = 2}); });
  this->expect_code(ErrorCode::kInvalidArgument, [&] { mem.write(MatrixView(k, kKeyDim), MatrixView(k, kKeyDim), 2); });
  this->expect_code(ErrorCode::kNotFound, [&] { mem.get({this->ids_[0], 12345}); });
  this->expect_code(ErrorCode::kNotFound, [&] { mem.erase({this->ids_[0], 12345}); });
  SlotPatch bad;
  bad.id = this->ids_[0];
  bad.key = std::vector<float>(3, 1.0f);
  this->expect_code(ErrorCode::kInvalidArgument, [&] { mem.update({bad}); });
  EXPECT_EQ(mem.count(), 20u);
  EXPECT_EQ(mem.get_one(this->ids_[0]).payload, "slot-0");
}

// Filters (engram/filter.h) in search, read, retrieve, write and erase_matching: structured
// payloads (JSON objects) are tested, string payloads have no fields, and the results are the
// exact top-k among the matching slots on both sides.
TYPED_TEST(Conformance, FiltersLimitEveryOperation) {
  auto& mem = *this->mem_;
  // Even slots get a structured payload {"n": i, "half": "low"|"high"}; odd ones keep "slot-i".
  std::vector<SlotPatch> patches;
  for (int i = 0; i < 20; i += 2) {
    SlotPatch p;
    p.id = this->ids_[i];
    p.payload = R"({"n": )" + std::to_string(i) + R"(, "half": ")" + (i < 10 ? "low" : "high") + R"("})";
    patches.push_back(p);
  }
  mem.update(patches);
  const Filter high = Filter::parse(R"({"must": [{"key": "half", "match": {"value": "high"}}, {"key": "n", "range": {"lt": 18}}]})");
  const std::vector<float> q = random_matrix(1, kKeyDim, 99);
  auto allowed = [&](SlotId id) { return id == this->ids_[10] || id == this->ids_[12] || id == this->ids_[14] || id == this->ids_[16]; };

  SearchOptions o;
  o.k = 6;
  o.with_payloads = true;
  o.filter = high;
  const SearchResult r = mem.search(MatrixView(q, kKeyDim), o);
  std::vector<std::pair<float, SlotId>> exact;
  for (int i : {10, 12, 14, 16}) {
    float dot = 0;
    for (int d = 0; d < kKeyDim; ++d) dot += q[d] * this->keys_[i * kKeyDim + d];
    exact.push_back({-dot, this->ids_[i]});
  }
  std::sort(exact.begin(), exact.end());
  for (std::size_t j = 0; j < 4; ++j) EXPECT_EQ(r.ids[j], exact[j].second) << j;
  EXPECT_EQ(r.ids[4], kNoSlot);
  EXPECT_EQ(r.payloads[0], patches[static_cast<std::size_t>(std::find(this->ids_.begin(), this->ids_.end(), r.ids[0]) - this->ids_.begin()) / 2].payload);

  SearchOptions ro;
  ro.k = 3;
  ro.filter = high;
  for (SlotId id : mem.read(MatrixView(q, kKeyDim), ro).ids) EXPECT_TRUE(allowed(id)) << id;
  for (SlotId id : mem.retrieve(MatrixView(q, kKeyDim), ro).ids) EXPECT_TRUE(allowed(id)) << id;
  const std::vector<float> w(kValueDim, 3.0f);
  for (SlotId id : mem.write(MatrixView(q, kKeyDim), MatrixView(w, kValueDim), ro).ids) EXPECT_TRUE(allowed(id)) << id;

  // A bad filter is kInvalidArgument on both sides and changes nothing.
  this->expect_code(ErrorCode::kInvalidArgument, [&] { Filter::parse(R"({"must": [{"key": "n", "range": {"gt": "x"}}]})"); });
  this->expect_code(ErrorCode::kInvalidArgument, [&] { mem.erase_matching(Filter()); });
  EXPECT_EQ(mem.count(), 20u);
  // Erase by filter: the four matching slots go, nothing else.
  EXPECT_EQ(mem.erase_matching(high), 4u);
  EXPECT_EQ(mem.count(), 16u);
  this->expect_code(ErrorCode::kNotFound, [&] { mem.get({this->ids_[12]}); });
  EXPECT_EQ(mem.get_one(this->ids_[11]).payload, "slot-11");
}

// The caller's ids, upsert and scroll behave the same embedded and over HTTP.
TYPED_TEST(Conformance, ExternalIdsUpsertAndScroll) {
  auto& mem = *this->mem_;
  const std::vector<float> k2 = random_matrix(2, kKeyDim, 5), v2 = random_matrix(2, kValueDim, 6);
  const std::vector<ExternalId> ext = {"doc-a", 42};
  const auto ids = mem.upsert(ext, MatrixView(k2, kKeyDim), MatrixView(v2, kValueDim), {"first", R"({"n":1})"});
  EXPECT_EQ(mem.upsert(ext, MatrixView(k2, kKeyDim), MatrixView(v2, kValueDim), {"again", R"({"n":2})"}), ids);
  EXPECT_EQ(mem.count(), 22u);
  EXPECT_EQ(mem.resolve({42, "doc-a"}), (std::vector<SlotId>{ids[1], ids[0]}));
  const Slot s = mem.get_one(ids[0]);
  EXPECT_EQ(s.payload, "again");
  ASSERT_TRUE(s.external_id.has_value());
  EXPECT_EQ(*s.external_id, ExternalId("doc-a"));
  EXPECT_FALSE(mem.get_one(this->ids_[0]).external_id.has_value());
  this->expect_code(ErrorCode::kAlreadyExists, [&] { mem.insert({42}, MatrixView(k2.data(), 1, kKeyDim), MatrixView(v2.data(), 1, kValueDim)); });
  this->expect_code(ErrorCode::kNotFound, [&] { mem.resolve({"nobody"}); });
  this->expect_code(ErrorCode::kInvalidArgument, [&] { mem.upsert({"x", "x"}, MatrixView(k2, kKeyDim), MatrixView(v2, kValueDim)); });

  // Scroll: every slot once, in id order, filtered, with keys when asked.
  ScrollOptions o;
  o.limit = 7;
  o.with_keys = true;
  std::vector<SlotId> seen;
  do {
    const ScrollPage page = mem.scroll(o);
    for (const Slot& slot : page.slots) {
      seen.push_back(slot.id);
      EXPECT_EQ(slot.key.size(), static_cast<std::size_t>(kKeyDim));
      EXPECT_TRUE(slot.value.empty());
    }
    o.cursor = page.next_cursor;
  } while (!o.cursor.empty());
  std::vector<SlotId> all = this->ids_;
  all.insert(all.end(), ids.begin(), ids.end());
  EXPECT_EQ(seen, all);
  o = ScrollOptions();
  o.filter = Filter::parse(R"({"must":[{"key":"n","match":{"value":2}}]})");
  const ScrollPage only = mem.scroll(o);
  ASSERT_EQ(only.slots.size(), 1u);
  EXPECT_EQ(only.slots[0].id, ids[1]);
  ASSERT_TRUE(only.slots[0].external_id.has_value());
  EXPECT_EQ(only.slots[0].external_id->number(), 42u);
  EXPECT_TRUE(only.next_cursor.empty());
  o.cursor = "x1";
  this->expect_code(ErrorCode::kInvalidArgument, [&] { mem.scroll(o); });
  mem.erase(mem.resolve({"doc-a"}));
  this->expect_code(ErrorCode::kNotFound, [&] { mem.resolve({"doc-a"}); });
}

// A payload index changes which path a filter takes, never what it selects: the same results
// before and after indexing the fields, embedded and remote.
TYPED_TEST(Conformance, PayloadIndexKeepsFilterResults) {
  auto& mem = *this->mem_;
  std::vector<SlotPatch> patches;
  for (int i = 0; i < 20; ++i) {
    SlotPatch p;
    p.id = this->ids_[i];
    p.payload = R"({"n": )" + std::to_string(i) + R"(, "half": ")" + (i < 10 ? "low" : "high") + R"("})";
    patches.push_back(p);
  }
  mem.update(patches);
  SearchOptions o;
  o.k = 20;
  o.filter = Filter::parse(R"({"must": [{"key": "half", "match": {"value": "high"}}], "must_not": [{"key": "n", "range": {"gt": 16}}]})");
  const std::vector<float> q = random_matrix(1, kKeyDim, 3);
  const SearchResult before = mem.search(MatrixView(q, kKeyDim), o);
  EXPECT_TRUE(mem.payload_indexes().empty());
  mem.create_payload_index("half");
  mem.create_payload_index("n");
  EXPECT_EQ(mem.payload_indexes(), (std::vector<std::string>{"half", "n"}));
  const SearchResult after = mem.search(MatrixView(q, kKeyDim), o);
  EXPECT_EQ(after.ids, before.ids);
  EXPECT_EQ(std::count_if(after.ids.begin(), after.ids.end(), [](SlotId id) { return id != kNoSlot; }), 7);
  mem.drop_payload_index("n");
  EXPECT_EQ(mem.payload_indexes(), std::vector<std::string>{"half"});
  this->expect_code(ErrorCode::kNotFound, [&] { mem.drop_payload_index("n"); });
  this->expect_code(ErrorCode::kInvalidArgument, [&] { mem.create_payload_index("a..b"); });
  EXPECT_EQ(mem.search(MatrixView(q, kKeyDim), o).ids, before.ids);
}

TYPED_TEST(Conformance, ManyThreadsAtOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < 25; ++i) {
          std::vector<float> key = random_matrix(1, kKeyDim, 1000 + t * 100 + i);
          SlotId id = this->mem_->insert_one(key, std::vector<float>(kValueDim, float(t)), "t");
          if (this->mem_->get_one(id).key != key) ++failures;
          this->mem_->read(MatrixView(key, kKeyDim), {.k = 3});
        }
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(this->mem_->count(), 20u + 8 * 25);
}

}  // namespace
}  // namespace engram
