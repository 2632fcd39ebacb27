// index/exact_knn_tile.h — the inner loop of exact k-NN (index/exact_search.cc): a tile of keys,
// packed for SIMD, scored against a chunk of queries, each query's k best kept in a heap.
//
// exact_knn_tile.cc is compiled once per instruction set (index/CMakeLists.txt), each copy in
// its own namespace; exact_search.cc calls the widest one the CPU runs. That file must use no
// inline function shared with other files (templates of the standard library included): the
// linker could keep its AVX-512 copy for everyone.
#pragma once

#include <cstddef>
#include <cstdint>

namespace engram::index {

// Keys packed in blocks of `lanes` keys, dimension-major inside a block: key j of block b,
// coordinate t is at packed[(b * dim + t) * lanes + j]. Whole pairs of blocks: padding keys
// (rows >= valid) are zeros and never enter a result.
struct PackedTile {
  const float* packed;
  std::size_t lanes;   // 16 (AVX-512) or 8 (AVX2)
  std::size_t blocks;  // even
  std::size_t dim;
  std::size_t valid;   // real keys in the tile
  std::int64_t first_row;  // the row number of the tile's first key
};

// One query's best results so far: a min-heap of `size` ≤ k entries, worst on top.
struct KnnHeap {
  float* scores;
  std::int64_t* rows;
  int k;
  int* size;
};

// Offers (score, row) to a heap: kept if the heap is not full or it beats the worst kept.
// (exact_search.cc, with FAISS's heap, compiled for the baseline: the kernels call it, it is
// never inlined there.)
void knn_offer(const KnnHeap& heap, float score, std::int64_t row);

// Scores the queries [0, nq) against every key of the tile — inner product, or −|q − key|²
// when l2 — and offers each score to that query's heap.
using KnnTileFn = void (*)(const PackedTile& tile, bool l2, std::size_t nq, const float* queries, const KnnHeap* heaps);

namespace avx2 {
void knn_tile(const PackedTile& tile, bool l2, std::size_t nq, const float* queries, const KnnHeap* heaps);
}
namespace avx512 {
void knn_tile(const PackedTile& tile, bool l2, std::size_t nq, const float* queries, const KnnHeap* heaps);
}

}  // namespace engram::index
