// index/trial_build.h — try an index on a few random vectors where a crash cannot hurt.
//
// The grammar (index_grammar.h) bounds every parameter, but FAISS has paths no grammar can
// vouch for. Before a memory is created, its index is built in a forked child process under a
// memory and time limit, and put through what a memory will do to it: train (when it needs to),
// add, search, remove, serialize and load, search again. A SIGSEGV, SIGFPE, abort, an exhausted
// memory limit or a hang then ends the child, and the caller gets kInvalidArgument saying how
// the trial failed — the memory is never created, so nothing is left to crash on restart.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "index/vector_index.h"

namespace engram::index {

// The memory limit is an address-space limit (RLIMIT_AS), which builds with a sanitizer
// (ASan, TSan) cannot live under: there only the time limit applies.
struct TrialLimits {
  double seconds = 30;                       // wall time for the whole trial
  std::size_t memory_bytes = std::size_t{1} << 30;  // address space the child may add
};

// Throws kInvalidArgument when the trial of `spec` fails, crashes or exceeds `limits`.
void trial_build(const IndexSpec& spec, const TrialLimits& limits = {});

// The isolation trial_build() uses: runs `fn` in a forked child under `limits`. Throws
// kInvalidArgument starting with `what` when fn throws (its message), crashes (the signal),
// runs out of memory or time. fn must not need other threads of this process.
void run_isolated(const std::string& what, const std::function<void()>& fn, const TrialLimits& limits);

}  // namespace engram::index
