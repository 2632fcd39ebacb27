// lm/tests/test_util.h — temp folders, tiny configs and a real engram memory for the LM tests.
#pragma once

#include <memory>
#include <string>

#include "engram/database.h"
#include "lm/model_config.h"

namespace engram::lm::testing {

// A fresh folder under the system temp dir, removed when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// 2 layers, width 32, 4 heads, block 16, memory in the last block, k = 8.
ModelConfig tiny_config(int vocab = 64);

std::string testdata(const std::string& name);

}  // namespace engram::lm::testing
