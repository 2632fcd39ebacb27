// lm/device.h — where tensors live, and how many CPU threads LibTorch uses.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace engram::lm {

// "cpu", "cuda" or "cuda:N". Throws engram::Error(kInvalidArgument) for anything else and
// kFailedPrecondition when CUDA is asked for but this LibTorch has none (Debian's is CPU-only).
c10::Device parse_device(const std::string& name);

// Sets LibTorch's (and OpenMP's) thread counts; n <= 0 leaves the defaults.
void set_threads(int n);

}  // namespace engram::lm
