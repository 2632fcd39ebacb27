// test_support.h — helpers shared by the server tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <engram/engram.h>

#include "http_message.h"

namespace engram::server::testing {

// A fresh folder under the system temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "engram-server-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::vector<float> random_matrix(std::size_t rows, std::size_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(rows * cols);
  for (float& x : v) x = dist(rng);
  return v;
}

inline Request make_request(const std::string& method, const std::string& target,
                            const std::string& body = {},
                            const std::string& content_type = "application/json") {
  Request r;
  r.method = method;
  r.target = target;
  r.body = body;
  if (!body.empty()) r.content_type = content_type;
  return r;
}

// Everything observable about a memory: its stats and every slot. Equal before and after a
// rejected request means the request changed nothing.
struct MemoryState {
  MemoryStats stats;
  std::vector<Slot> slots;
  bool operator==(const MemoryState& o) const {
    if (stats.slots != o.stats.slots || stats.next_id != o.stats.next_id ||
        stats.op_seq != o.stats.op_seq || slots.size() != o.slots.size())
      return false;
    for (std::size_t i = 0; i < slots.size(); ++i)
      if (slots[i].id != o.slots[i].id || slots[i].key != o.slots[i].key ||
          slots[i].value != o.slots[i].value || slots[i].payload != o.slots[i].payload)
        return false;
    return true;
  }
};

inline MemoryState capture(Memory& mem) {
  MemoryState s;
  s.stats = mem.stats();
  s.slots = mem.get(mem.list_ids());
  return s;
}

}  // namespace engram::server::testing
