// Many readers alongside writers: every read sees a consistent memory (weights sum to 1, ids
// that exist or existed), nobody crashes or deadlocks, and the end state is consistent.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <set>
#include <thread>

#include "tests/test_util.h"

namespace engram {
namespace {

using testing::clustered_matrix;
using testing::make_config;
using testing::TempDir;

void hammer(const std::string& factory) {
  TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = db->create_memory("m", make_config(16, 16, factory));
  auto seed = clustered_matrix(500, 16, 10, 1);
  mem->insert(MatrixView(seed, 16), MatrixView(seed, 16));

  std::atomic<bool> stop{false};
  std::atomic<long> reads{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto q = clustered_matrix(8, 16, 10, 100 + t);
      while (!stop) {
        try {
          auto r = mem->read(MatrixView(q, 16), {.k = 8});
          for (int i = 0; i < 8; ++i) {
            float total = 0;
            for (int j = 0; j < 8; ++j) total += r.weights[i * 8 + j];
            if (std::abs(total - 1.0f) > 1e-4f) ++failures;
          }
          mem->search(MatrixView(q, 16), {.k = 4, .with_payloads = true});
          ++reads;
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  std::atomic<long> writes{0};
  threads.emplace_back([&] {  // inserter + eraser
    for (int i = 0; i < 60; ++i) {
      auto k = clustered_matrix(50, 16, 10, 1000 + i);
      auto ids = mem->insert(MatrixView(k, 16), MatrixView(k, 16), {}, WriteOptions{i % 10 == 0});
      mem->erase({ids.begin(), ids.begin() + 20});
      writes += 2;
    }
  });
  threads.emplace_back([&] {  // gated writer
    for (int i = 0; i < 60; ++i) {
      auto q = clustered_matrix(10, 16, 10, 5000 + i);
      mem->write(MatrixView(q, 16), MatrixView(q, 16), 4);
      ++writes;
    }
  });
  threads[4].join();
  threads[5].join();
  stop = true;
  for (int t = 0; t < 4; ++t) threads[t].join();

  EXPECT_EQ(failures, 0);
  EXPECT_GT(reads, 10);
  EXPECT_EQ(writes, 180);
  auto st = mem->stats();
  EXPECT_EQ(st.slots, 500u + 60u * 30u);
  EXPECT_EQ(st.indexed, st.slots);
}

TEST(ConcurrencyTest, ReadersAndWritersOnFlat) { hammer("Flat"); }
TEST(ConcurrencyTest, ReadersAndWritersOnHnswWithTombstones) { hammer("HNSW16"); }

// A search never returns a slot whose records an erase has already deleted: every slot here is
// written with a payload, so a result without one is a slot the search found in the index after
// its erase reached the store (sync writes keep that window milliseconds long).
TEST(ConcurrencyTest, SearchesNeverReturnASlotHalfErased) {
  TempDir dir;
  auto db = Database::open(dir.path());
  auto cfg = make_config(8, 4);
  cfg.sync = true;
  auto mem = db->create_memory("m", cfg);
  auto keys = testing::random_matrix(64, 8, 1);
  const std::vector<std::string> payloads(64, "p");
  std::atomic<bool> stop{false};
  std::atomic<long> searches{0}, torn{0};
  std::thread searcher([&] {
    auto q = testing::random_matrix(4, 8, 2);
    while (!stop) {
      const SearchResult r = mem->search(MatrixView(q, 8), {.k = 8, .with_payloads = true});
      for (std::size_t i = 0; i < r.ids.size(); ++i)
        if (r.ids[i] != kNoSlot && r.payloads[i].empty()) ++torn;
      ++searches;
    }
  });
  for (int round = 0; round < 60; ++round) {
    const auto ids = mem->insert(MatrixView(keys, 8), MatrixView(keys.data(), 64, 4), payloads);
    mem->erase(ids);
  }
  stop = true;
  searcher.join();
  EXPECT_GT(searches, 0);
  EXPECT_EQ(torn, 0) << "of " << searches << " searches";
}

TEST(ConcurrencyTest, ConcurrentInsertsGetDistinctIds) {
  TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = db->create_memory("m", make_config(4, 4));
  std::vector<std::thread> threads;
  std::vector<std::vector<SlotId>> got(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto k = testing::random_matrix(3, 4, t * 100 + i);
        auto ids = mem->insert(MatrixView(k, 4), MatrixView(k, 4));
        got[t].insert(got[t].end(), ids.begin(), ids.end());
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<SlotId> all;
  for (auto& g : got) all.insert(g.begin(), g.end());
  EXPECT_EQ(all.size(), 600u);
  EXPECT_EQ(mem->count(), 600u);
}

}  // namespace
}  // namespace engram
