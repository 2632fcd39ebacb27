#include "index/trial_build.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <omp.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <new>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "engram/error.h"
#include "engram/types.h"
#include "index/index_grammar.h"

// Sanitizers (ASan's allocator, TSan's shadow) map address space as they go: under an
// address-space limit they abort the child. Their builds (tests, fuzzing) go without it.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ENGRAM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define ENGRAM_SANITIZED 1
#endif
#endif

namespace engram::index {
namespace {

constexpr std::size_t kTrialRows = 64;
// Training an IVF index costs lists² × dim per k-means step: the trial trains at most this many
// lists (the grammar has already bounded the real count), which exercises the same code paths.
constexpr long kTrialLists = 256;

// The factory string the trial builds: the same components, with two substitutions that keep
// it to seconds. IVF trains at most kTrialLists lists; OPQ (50 training rounds: half a minute
// even on 256 points) is tried as the transform of the same shape, a PCA rotation to its output
// dimension (or L2norm, which keeps the dimension, when it names none). The grammar has already
// bounded what these leave untried.
std::string trial_factory(const std::string& factory) {
  static const std::regex ivf("IVF([0-9]+)"), opq_d("OPQ[0-9]+_([0-9]+)"), opq("OPQ[0-9]+");
  std::string out = factory;
  std::smatch m;
  if (std::regex_search(out, m, ivf) && std::stol(m[1]) > kTrialLists)
    out = m.prefix().str() + "IVF" + std::to_string(kTrialLists) + m.suffix().str();
  out = std::regex_replace(out, opq_d, "PCAR$1");
  return std::regex_replace(out, opq, "L2norm");
}

std::vector<float> random_rows(std::size_t rows, int dim, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> x(rows * static_cast<std::size_t>(dim));
  for (float& v : x) v = normal(rng);
  return x;
}

// What a memory does to its index, in miniature. Throws on any failure.
void exercise(const IndexSpec& spec) {
  auto index = VectorIndex::create(spec);
  if (!index->is_trained()) {
    const std::size_t n = std::max(index->min_train_points(), kTrialRows);
    const auto sample = random_rows(n, spec.dim, 1);
    index->train(n, sample.data());
  }
  const auto x = random_rows(kTrialRows, spec.dim, 2);
  std::vector<std::uint64_t> ids(kTrialRows);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = 1000 + i;
  index->add(kTrialRows / 2, x.data(), ids.data());  // two adds: HNSW links the second to the first
  index->add(kTrialRows / 2, x.data() + kTrialRows / 2 * spec.dim, ids.data() + kTrialRows / 2);
  const int k = 10;
  std::vector<float> scores(kTrialRows * k);
  std::vector<std::uint64_t> found(kTrialRows * k);
  index->search(kTrialRows, x.data(), k, scores.data(), found.data(), {});
  index->remove({ids[0], ids[1]});
  index->search(kTrialRows, x.data(), k, scores.data(), found.data(), {});
  const auto bytes = index->serialize();
  auto loaded = VectorIndex::deserialize(spec, bytes.data(), bytes.size());
  loaded->search(kTrialRows, x.data(), k, scores.data(), found.data(), {});
}

#ifndef ENGRAM_SANITIZED
std::size_t address_space_in_use() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  statm >> pages;
  return pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}
#endif

[[noreturn]] void run_child(const std::function<void()>& fn, const TrialLimits& limits, int out) {
  // Only async-signal-safe work until fn(): this process is a copy of a threaded parent.
  signal(SIGPIPE, SIG_IGN);
  // FAISS prints warnings about small training sets; the trial's sets are small on purpose.
  const int devnull = open("/dev/null", O_WRONLY);
  if (devnull >= 0) {
    dup2(devnull, STDOUT_FILENO);
    dup2(devnull, STDERR_FILENO);
  }
#ifndef ENGRAM_SANITIZED
  rlimit as{};
  as.rlim_cur = as.rlim_max = address_space_in_use() + limits.memory_bytes;
  setrlimit(RLIMIT_AS, &as);
#endif
  alarm(static_cast<unsigned>(limits.seconds) + 5);  // the parent kills first; this covers its death
  omp_set_num_threads(1);  // the parent's OpenMP workers do not exist in this process
  std::string message;
  int status = 0;
  try {
    fn();
  } catch (const std::bad_alloc&) {
    message = "it needs more than " + std::to_string(limits.memory_bytes >> 20) + " MiB";
    status = 2;
  } catch (const std::exception& e) {
    message = e.what();
    status = 1;
  }
  if (!message.empty() && write(out, message.data(), message.size()) < 0) status = 3;
  _exit(status);
}

std::string describe_signal(int sig) {
  const char* name = sigabbrev_np(sig);
  return std::string("SIG") + (name ? name : std::to_string(sig).c_str());
}

}  // namespace

void trial_build(const IndexSpec& spec, const TrialLimits& limits) {
  IndexSpec trial = spec;
  trial.factory = trial_factory(spec.factory);
  check_index_spec(spec);  // the bounds first, without a process
  if (trial.device != "cpu") {
    // A GPU context does not survive fork(): build it here (which also refuses "gpu" in a
    // build without GPU support), after the grammar has bounded it.
    VectorIndex::create(spec);
    return;
  }
  run_isolated("index '" + spec.factory + "' failed a trial build on " + std::to_string(spec.dim) +
                   "-d random vectors: ",
               [&] { exercise(trial); }, limits);
}

void run_isolated(const std::string& what, const std::function<void()>& fn, const TrialLimits& limits) {
  int fds[2];
  if (pipe(fds) != 0) throw Error(ErrorCode::kIOError, std::string("pipe: ") + std::strerror(errno));
  std::fflush(nullptr);  // the child must not flush the parent's buffered output a second time
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    throw Error(ErrorCode::kUnavailable, std::string("cannot fork to try the index: ") + std::strerror(errno));
  }
  if (pid == 0) {
    close(fds[0]);
    run_child(fn, limits, fds[1]);
  }
  close(fds[1]);

  // Read the child's message until it closes the pipe (it exits) or time runs out.
  std::string message;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<long long>(limits.seconds * 1000));
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    char buf[512];
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    message.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }

  if (timed_out) throw Error(ErrorCode::kInvalidArgument, what + "it did not finish within " +
                                                              std::to_string(static_cast<int>(limits.seconds)) + " s");
  if (WIFSIGNALED(status))
    throw Error(ErrorCode::kInvalidArgument, what + "it crashed the trial process (" + describe_signal(WTERMSIG(status)) + ")");
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    throw Error(ErrorCode::kInvalidArgument, what + (message.empty() ? "it failed" : message));
}

}  // namespace engram::index
