// lm/device.h — where tensors live, and how many CPU threads LibTorch uses.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace engram::lm {

// "cpu", "cuda" or "cuda:N". Throws engram::Error(kInvalidArgument) for anything else and
// kFailedPrecondition when CUDA is asked for but this LibTorch has none (Debian's is CPU-only).
c10::Device parse_device(const std::string& name);

// Keeps freed tensor memory in the process's heap for reuse (glibc's malloc settings), once.
void keep_freed_tensor_memory();

// Sets LibTorch's (and OpenMP's) thread counts; n <= 0 leaves the defaults. Also calls
// keep_freed_tensor_memory(): every command that runs the model sets its threads first.
void set_threads(int n);

}  // namespace engram::lm
