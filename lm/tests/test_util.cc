#include "test_util.h"

#include <filesystem>
#include <random>

namespace engram::lm::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::random_device rd;
  path_ = (fs::temp_directory_path() / ("engram-lm-test-" + std::to_string(rd()) + std::to_string(rd()))).string();
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

ModelConfig tiny_config(int vocab) {
  ModelConfig c;
  c.vocab_size = vocab;
  c.block_size = 16;
  c.n_layer = 2;
  c.n_head = 4;
  c.d_model = 32;
  c.memory_layer = 1;
  c.memory_k = 8;
  return c;
}

std::string testdata(const std::string& name) { return std::string(ENGRAM_LM_TESTDATA) + "/" + name; }

}  // namespace engram::lm::testing
