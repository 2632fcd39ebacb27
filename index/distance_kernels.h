// index/distance_kernels.h — inner product and squared L2 distance, picked for the CPU at run time.
//
// Engram is built for baseline x86-64 so that one binary runs everywhere; the hot loops of a
// graph search are these two functions. Each is compiled several times (baseline, AVX2 + FMA,
// AVX-512F) and the widest one the CPU supports is chosen once, at first use.
// ENGRAM_SIMD=scalar|avx2|avx512 asks for a narrower level (for comparisons); a level the CPU
// lacks is never used.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace engram::index {

enum class SimdLevel { kScalar, kAvx2, kAvx512 };

struct DistanceKernels {
  SimdLevel level;
  const char* name;  // "scalar", "avx2", "avx512"
  float (*inner_product)(const float* a, const float* b, std::size_t dim);
  float (*l2_squared)(const float* a, const float* b, std::size_t dim);
  // The same two as distances to minimise, in the form graph libraries call (hnswlib's DISTFUNC;
  // `dim` points at a std::size_t): −a·b and |a−b|².
  float (*ip_distance)(const void* a, const void* b, const void* dim);
  float (*l2_distance)(const void* a, const void* b, const void* dim);
};

// The kernels of every level this CPU can run, narrowest first (scalar is always there).
std::vector<DistanceKernels> supported_kernels();

// The kernels in use: the widest supported level, or the one ENGRAM_SIMD names if it is
// supported. Chosen on the first call; the same afterwards.
const DistanceKernels& active_kernels();

// "scalar", "avx2" or "avx512": the level active_kernels() uses.
std::string simd_level_name();

}  // namespace engram::index
