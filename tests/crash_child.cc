// The process the crash test kills. Modes:
//   work DIR ROUND SEED    batched, synced inserts / updates / erases / gated writes / checkpoints,
//                          forever; prints one "ack ..." line per acknowledged operation
//   stop-after DIR N SEED  N inserts of 10 slots, then _exit without closing anything
//   probe-open DIR         tries to open DIR; exit 3 when it is locked, 0 when it opened
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "engram/engram.h"

namespace {

constexpr int kDim = 8;
constexpr int kBatch = 20;

std::shared_ptr<engram::Memory> open_memory(engram::Database& db) {
  if (db.has_memory("crash")) return db.memory("crash");
  engram::MemoryConfig c;
  c.key_dim = kDim;
  c.value_dim = kDim;
  c.metric = engram::Metric::kL2;
  c.index = "Flat";
  c.sync = true;
  c.gate_bias = 40.0f;  // g ≈ 1: a write replaces the top-k values
  auto mem = db.create_memory("crash", c);
  // Payloads are {"b": batch, "n": batch number, "u": update marker}: the test checks after each
  // kill that the payload index agrees with them.
  for (const char* field : {"b", "n", "u"}) mem->create_payload_index(field);
  return mem;
}

int work(const std::string& dir, int round, unsigned seed) {
  auto db = engram::Database::open(dir);
  auto mem = open_memory(*db);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<int> live;  // batches of this round not erased
  engram::SlotId round_first = 0;
  auto first_of = [&](int batch) { return round_first + static_cast<engram::SlotId>(kBatch * batch); };
  for (int b = 0;; ++b) {
    std::vector<float> keys(kBatch * kDim), values(kBatch * kDim);
    for (auto& x : keys) x = normal(rng);
    for (auto& x : values) x = normal(rng);
    const std::string batch = "r" + std::to_string(round) + "b" + std::to_string(b);
    std::vector<std::string> payloads(kBatch, R"({"b":")" + batch + R"(","n":)" + std::to_string(b) + "}");
    auto ids = mem->insert(engram::MatrixView(keys, kDim), engram::MatrixView(values, kDim), payloads);
    std::printf("ack insert %s %llu %llu\n", batch.c_str(), (unsigned long long)ids.front(),
                (unsigned long long)ids.back());
    std::fflush(stdout);
    if (b == 0) round_first = ids.front();
    live.push_back(b);
    if (b % 3 == 2) {  // one atomic update giving every slot of an earlier batch the same value
      const int target = live[rng() % live.size()];
      const float c = static_cast<float>(b);
      // Within a round this process is the only writer, so batch t holds ids
      // first_of(t) .. first_of(t) + kBatch - 1.
      std::vector<engram::SlotPatch> patches;
      const std::string payload = R"({"b":"r)" + std::to_string(round) + "b" + std::to_string(target) + R"(","n":)" +
                                  std::to_string(target) + R"(,"u":)" + std::to_string(b) + "}";
      for (int i = 0; i < kBatch; ++i) {
        patches.push_back({first_of(target) + static_cast<engram::SlotId>(i), std::nullopt,
                           std::vector<float>(kDim, c), payload});
      }
      mem->update(patches);
      std::printf("ack update r%db%d %g\n", round, target, c);
      std::fflush(stdout);
    }
    if (b % 7 == 6 && live.size() > 2) {  // erase a whole earlier batch
      const std::size_t at = rng() % (live.size() - 1);
      const int target = live[at];
      std::vector<engram::SlotId> gone;
      for (int i = 0; i < kBatch; ++i) gone.push_back(first_of(target) + static_cast<engram::SlotId>(i));
      std::printf("begin erase r%db%d\n", round, target);  // it may land without its ack
      std::fflush(stdout);
      mem->erase(gone);
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(at));
      std::printf("ack erase r%db%d\n", round, target);
      std::fflush(stdout);
    }
    if (b % 5 == 4) {  // a gated write near a random key
      std::vector<float> q(kDim), w(kDim, -1000.0f - static_cast<float>(b));  // a marker value
      for (auto& x : q) x = normal(rng);
      mem->write(engram::MatrixView(q, kDim), engram::MatrixView(w, kDim), 4);
      std::printf("ack write\n");
      std::fflush(stdout);
    }
    if (b % 11 == 10) mem->checkpoint();  // so that some kills land mid-checkpoint
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const std::string mode = argv[1], dir = argv[2];
  try {
    if (mode == "work" && argc == 5) return work(dir, std::atoi(argv[3]), static_cast<unsigned>(std::atoi(argv[4])));
    if (mode == "stop-after" && argc == 5) {
      auto db = engram::Database::open(dir);
      auto mem = open_memory(*db);
      std::mt19937 rng(static_cast<unsigned>(std::atoi(argv[4])));
      std::normal_distribution<float> normal;
      for (int i = 0; i < std::atoi(argv[3]); ++i) {
        std::vector<float> keys(10 * kDim);
        for (auto& x : keys) x = normal(rng);
        mem->insert(engram::MatrixView(keys, kDim), engram::MatrixView(keys, kDim));
      }
      std::fflush(stdout);
      _exit(0);  // no destructors: the index checkpoint is not written
    }
    if (mode == "probe-open") {
      auto db = engram::Database::open(dir);
      return 0;
    }
  } catch (const engram::Error& e) {
    std::fprintf(stderr, "%s: %s\n", engram::error_code_name(e.code()), e.what());
    return e.code() == engram::ErrorCode::kBusy ? 3 : 1;
  }
  return 2;
}
