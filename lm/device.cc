// lm/device.cc — device selection.
#include "lm/device.h"

#include <malloc.h>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include "engram/error.h"

namespace engram::lm {

void keep_freed_tensor_memory() {
  // A training step frees and reallocates the same activation buffers (hundreds of KB to a few
  // MB) every step. glibc serves those with mmap/munmap, so each step pays fresh page faults
  // and zeroed pages; keeping freed memory in the heap lets the next step reuse it.
  static const bool once = [] {
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    return true;
  }();
  (void)once;
}

c10::Device parse_device(const std::string& name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      throw Error(ErrorCode::kFailedPrecondition,
                  "--device " + name + ": this LibTorch was built without CUDA or no GPU is visible");
    try {
      return c10::Device(name);
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kInvalidArgument, "bad device '" + name + "': " + e.what());
    }
  }
  throw Error(ErrorCode::kInvalidArgument, "unknown device '" + name + "' (use cpu or cuda[:N])");
}

void set_threads(int n) {
  keep_freed_tensor_memory();
  if (n <= 0) return;
  at::set_num_threads(n);
}

}  // namespace engram::lm
