#include "ingest/tests/ingest_test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "ingest/vector_file.h"

namespace engram::ingest::testing {

Scratch::Scratch() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "engram-ingest-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
  path_ = tmpl;
}
Scratch::~Scratch() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<float> rows(std::size_t n, std::size_t dim, std::size_t first) {
  std::vector<float> v(n * dim);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t d = 0; d < dim; ++d) v[i * dim + d] = static_cast<float>(first + i) + static_cast<float>(d) / 1000.0f;
  return v;
}

void write_fvecs(const std::string& path, const std::vector<float>& data, std::size_t dim) {
  VecsWriter w(path);
  w.write_floats(data.data(), data.size() / dim, dim);
  w.close();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_npy(const std::string& path, const std::vector<float>& data, std::size_t dim) {
  write_npy_raw(path, "<f4", std::string(reinterpret_cast<const char*>(data.data()), data.size() * 4),
                data.size() / dim, dim);
}

void write_npy_raw(const std::string& path, const std::string& descr, const std::string& array, std::size_t rows,
                   std::size_t dim) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + std::to_string(rows) +
                       ", " + std::to_string(dim) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out += array;
  write_bytes(path, out);
}

namespace {

std::vector<char*> argv_of(std::vector<std::string>& args) {
  std::vector<char*> v;
  for (auto& a : args) v.push_back(a.data());
  v.push_back(nullptr);
  return v;
}

std::string drain(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<std::size_t>(n));
  return s;
}

}  // namespace

Child spawn_engram(const std::vector<std::string>& args_in) {
  std::vector<std::string> args{ENGRAM_CLI};
  args.insert(args.end(), args_in.begin(), args_in.end());
  int err[2];
  if (pipe(err) != 0) throw std::runtime_error("pipe");
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(err[1], 2);
    close(err[0]);
    close(err[1]);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    auto argv = argv_of(args);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(err[1]);
  return {pid, err[0]};
}

bool wait_for_output(Child& c, const std::string& needle, std::string* seen) {
  char buf[256];
  ssize_t n;
  while (seen->find(needle) == std::string::npos) {
    n = read(c.err_fd, buf, sizeof buf);
    if (n <= 0) return false;
    seen->append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

int wait_child(Child& c) {
  int status = 0;
  waitpid(c.pid, &status, 0);
  if (c.err_fd >= 0) close(c.err_fd);
  c.err_fd = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

ProcessResult run_engram(const std::vector<std::string>& args_in) {
  std::vector<std::string> args{ENGRAM_CLI};
  args.insert(args.end(), args_in.begin(), args_in.end());
  int out[2], err[2];
  if (pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe");
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    close(out[1]);
    close(err[1]);
    auto argv = argv_of(args);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  ProcessResult r;
  // Outputs are small; read stderr after stdout (a child filling the stderr pipe first would
  // block, but these commands write little).
  r.out = drain(out[0]);
  r.err = drain(err[0]);
  close(out[0]);
  close(err[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return r;
}

}  // namespace engram::ingest::testing
