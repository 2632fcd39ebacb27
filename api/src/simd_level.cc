#include "engram/version.h"
#include "index/distance_kernels.h"

namespace engram {

const char* simd_level() { return index::active_kernels().name; }

}  // namespace engram
