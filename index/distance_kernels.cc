#include "index/distance_kernels.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ENGRAM_X86_KERNELS 1
#endif

namespace engram::index {
namespace {

// The reference: four independent sums, so even the portable build is not one long chain of
// dependent additions (the compiler vectorizes it with the baseline's SSE).
float ip_scalar(const float* a, const float* b, std::size_t dim) {
  float s[4] = {0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 4 <= dim; i += 4) {
    for (int j = 0; j < 4; ++j) s[j] += a[i + j] * b[i + j];
  }
  float sum = (s[0] + s[1]) + (s[2] + s[3]);
  for (; i < dim; ++i) sum += a[i] * b[i];
  return sum;
}

float l2_scalar(const float* a, const float* b, std::size_t dim) {
  float s[4] = {0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 4 <= dim; i += 4) {
    for (int j = 0; j < 4; ++j) {
      const float d = a[i + j] - b[i + j];
      s[j] += d * d;
    }
  }
  float sum = (s[0] + s[1]) + (s[2] + s[3]);
  for (; i < dim; ++i) {
    const float d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

float ip_distance_scalar(const void* a, const void* b, const void* dim) {
  return -ip_scalar(static_cast<const float*>(a), static_cast<const float*>(b), *static_cast<const std::size_t*>(dim));
}
float l2_distance_scalar(const void* a, const void* b, const void* dim) {
  return l2_scalar(static_cast<const float*>(a), static_cast<const float*>(b), *static_cast<const std::size_t*>(dim));
}

#ifdef ENGRAM_X86_KERNELS

__attribute__((target("avx2,fma"))) float hsum256(__m256 v) {
  const __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(lo, hi);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Two accumulators of 8 lanes hide the FMA latency at the dimensions keys have (64–1024).
__attribute__((target("avx2,fma"))) float ip_avx2(const float* a, const float* b, std::size_t dim) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  if (i + 8 <= dim) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    i += 8;
  }
  float sum = hsum256(_mm256_add_ps(s0, s1));
  for (; i < dim; ++i) sum += a[i] * b[i];
  return sum;
}

__attribute__((target("avx2,fma"))) float l2_avx2(const float* a, const float* b, std::size_t dim) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    s0 = _mm256_fmadd_ps(d0, d0, s0);
    s1 = _mm256_fmadd_ps(d1, d1, s1);
  }
  if (i + 8 <= dim) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    s0 = _mm256_fmadd_ps(d, d, s0);
    i += 8;
  }
  float sum = hsum256(_mm256_add_ps(s0, s1));
  for (; i < dim; ++i) {
    const float d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

// 16 lanes; the tail (dim not a multiple of 16) is one masked load, so no scalar loop.
__attribute__((target("avx512f"))) float ip_avx512(const float* a, const float* b, std::size_t dim) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= dim; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
  }
  for (; i + 16 <= dim; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
  if (i < dim) {
    const __mmask16 m = static_cast<__mmask16>((1u << (dim - i)) - 1);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

__attribute__((target("avx512f"))) float l2_avx512(const float* a, const float* b, std::size_t dim) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= dim; i += 32) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
    s0 = _mm512_fmadd_ps(d0, d0, s0);
    s1 = _mm512_fmadd_ps(d1, d1, s1);
  }
  for (; i + 16 <= dim; i += 16) {
    const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    s0 = _mm512_fmadd_ps(d, d, s0);
  }
  if (i < dim) {
    const __mmask16 m = static_cast<__mmask16>((1u << (dim - i)) - 1);
    const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
    s1 = _mm512_fmadd_ps(d, d, s1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

// The graph-library forms, compiled for the same target so the kernel is inlined into them.
__attribute__((target("avx2,fma"))) float ip_distance_avx2(const void* a, const void* b, const void* dim) {
  return -ip_avx2(static_cast<const float*>(a), static_cast<const float*>(b), *static_cast<const std::size_t*>(dim));
}
__attribute__((target("avx2,fma"))) float l2_distance_avx2(const void* a, const void* b, const void* dim) {
  return l2_avx2(static_cast<const float*>(a), static_cast<const float*>(b), *static_cast<const std::size_t*>(dim));
}
__attribute__((target("avx512f"))) float ip_distance_avx512(const void* a, const void* b, const void* dim) {
  return -ip_avx512(static_cast<const float*>(a), static_cast<const float*>(b), *static_cast<const std::size_t*>(dim));
}
__attribute__((target("avx512f"))) float l2_distance_avx512(const void* a, const void* b, const void* dim) {
  return l2_avx512(static_cast<const float*>(a), static_cast<const float*>(b), *static_cast<const std::size_t*>(dim));
}

#endif  // ENGRAM_X86_KERNELS

bool cpu_has(SimdLevel level) {
#ifdef ENGRAM_X86_KERNELS
  switch (level) {
    case SimdLevel::kScalar: return true;
    case SimdLevel::kAvx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SimdLevel::kAvx512: return __builtin_cpu_supports("avx512f");
  }
  return false;
#else
  return level == SimdLevel::kScalar;
#endif
}

DistanceKernels kernels_of(SimdLevel level) {
  switch (level) {
#ifdef ENGRAM_X86_KERNELS
    case SimdLevel::kAvx2: return {level, "avx2", ip_avx2, l2_avx2, ip_distance_avx2, l2_distance_avx2};
    case SimdLevel::kAvx512:
      return {level, "avx512", ip_avx512, l2_avx512, ip_distance_avx512, l2_distance_avx512};
#endif
    default: return {SimdLevel::kScalar, "scalar", ip_scalar, l2_scalar, ip_distance_scalar, l2_distance_scalar};
  }
}

DistanceKernels choose() {
  const auto all = supported_kernels();
  if (const char* wanted = std::getenv("ENGRAM_SIMD")) {
    for (const auto& k : all) {
      if (std::strcmp(k.name, wanted) == 0) return k;
    }
  }
  return all.back();
}

}  // namespace

std::vector<DistanceKernels> supported_kernels() {
  std::vector<DistanceKernels> out;
  for (SimdLevel level : {SimdLevel::kScalar, SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    if (cpu_has(level) && kernels_of(level).level == level) out.push_back(kernels_of(level));
  }
  return out;
}

const DistanceKernels& active_kernels() {
  static const DistanceKernels chosen = choose();
  return chosen;
}

std::string simd_level_name() { return active_kernels().name; }

}  // namespace engram::index
