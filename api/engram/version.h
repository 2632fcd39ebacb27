// engram/version.h — which Engram this is.
#pragma once

namespace engram {

// The release, "MAJOR.MINOR.PATCH" (CMake's project version; find_package(Engram) sees it as
// Engram_VERSION).
const char* version();
// The git commit the library was built from ("0123456789ab", with "-dirty" when the tree had
// uncommitted changes; "unknown" outside a git checkout).
const char* git_commit();
// The distance kernels this process runs ("scalar", "avx2" or "avx512"): the widest the CPU
// supports, chosen at run time; the environment variable ENGRAM_SIMD may ask for a narrower one.
const char* simd_level();

}  // namespace engram
