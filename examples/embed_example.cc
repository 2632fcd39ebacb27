// Embeds Engram: creates a memory under ./engram-data (or argv[1]), inserts, reads, writes,
// closes, reopens and prints what it found.
#include <engram/engram.h>

#include <cstdio>
#include <random>
#include <vector>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "./engram-data";
  const int dim = 16;
  std::mt19937 rng(42);
  std::normal_distribution<float> normal;
  std::vector<float> keys(100 * dim), values(100 * dim);
  for (auto& x : keys) x = normal(rng);
  for (auto& x : values) x = normal(rng);

  std::uint64_t count_before = 0;
  {
    auto db = engram::Database::open(path);
    auto mem = db->has_memory("example") ? db->memory("example") : [&] {
      engram::MemoryConfig cfg;
      cfg.key_dim = dim;
      cfg.value_dim = dim;
      cfg.index = "Flat";
      return db->create_memory("example", cfg);
    }();
    auto ids = mem->insert(engram::MatrixView(keys, dim), engram::MatrixView(values, dim));
    std::printf("inserted %zu slots (ids %llu..%llu)\n", ids.size(), (unsigned long long)ids.front(),
                (unsigned long long)ids.back());

    // Reading with the first key as the query: attention concentrates on that slot.
    std::vector<float> query(keys.begin(), keys.begin() + dim);
    auto r = mem->read(engram::MatrixView(query, dim), {.k = 4});
    std::printf("read: top id %llu with weight %.3f\n", (unsigned long long)r.ids[0], r.weights[0]);

    std::vector<float> target(dim, 1.0f);
    auto w = mem->write(engram::MatrixView(query, dim), engram::MatrixView(target, dim), 2);
    std::printf("write: updated slot %llu with gate %.3f\n", (unsigned long long)w.ids[0], w.gates[0]);
    count_before = mem->count();
  }  // closing the database checkpoints the index

  auto db = engram::Database::open(path);
  auto mem = db->memory("example");
  auto stats = mem->stats();
  std::printf("reopened: %llu slots (%llu before closing), index holds %llu\n",
              (unsigned long long)stats.slots, (unsigned long long)count_before,
              (unsigned long long)stats.indexed);
  return stats.slots == count_before && stats.indexed == count_before ? 0 : 1;
}
