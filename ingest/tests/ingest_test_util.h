// ingest/tests/ingest_test_util.h — files and processes for the ingest tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engram/error.h"

namespace engram::ingest::testing {

// The message of the engram::Error that fn throws ("" if none).
template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const engram::Error& e) {
    return e.what();
  }
  return "";
}

// A fresh folder, removed when the object dies.
class Scratch {
 public:
  Scratch();
  ~Scratch();
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// n × dim floats: row i, element d = i + d / 1000 (so a row names its record).
std::vector<float> rows(std::size_t n, std::size_t dim, std::size_t first = 0);
void write_fvecs(const std::string& path, const std::vector<float>& data, std::size_t dim);
void write_bytes(const std::string& path, const std::string& bytes);
std::string read_bytes(const std::string& path);
// A float32 2-D .npy file.
void write_npy(const std::string& path, const std::vector<float>& data, std::size_t dim);
// A 2-D .npy file of any dtype: `array` holds the rows × dim elements' bytes.
void write_npy_raw(const std::string& path, const std::string& descr, const std::string& array, std::size_t rows,
                   std::size_t dim);

struct ProcessResult {
  int exit_code = -1;   // -signal when killed by one
  std::string out, err;
};
// Runs the engram command with `args` and waits.
ProcessResult run_engram(const std::vector<std::string>& args);

// Starts the engram command; its stderr is readable through err_fd.
struct Child {
  int pid = -1;
  int err_fd = -1;
};
Child spawn_engram(const std::vector<std::string>& args);
// Reads the child's stderr until `needle` appears (true) or it closes (false).
bool wait_for_output(Child& c, const std::string& needle, std::string* seen);
// Waits; the exit code, or -signal.
int wait_child(Child& c);

}  // namespace engram::ingest::testing
