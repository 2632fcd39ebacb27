// index/hnswlib_index.h — the hnswlib backend, for index strings "HNSWlib<M>" (e.g. "HNSWlib32").
//
// Why a second HNSW: Debian's FAISS is built without SIMD kernels, and its HNSW searched at
// 0.43× the speed of hnswlib at equal recall@10 in our benchmark (bench/README.md). HNSWlib32
// builds the same graph as FAISS's HNSW32 (M = 32, 64 links at level 0, the memory's
// efConstruction) and takes the same search parameter (efSearch, default 64). Erased slots are marked deleted
// (hnswlib's own tombstones, skipped by search); re-adding an id revives and moves it.
// Distances use the kernels chosen for the CPU at run time (index/distance_kernels.h). Searches
// of a batch run on all OpenMP threads; a batch of new points is inserted on as many threads
// (omp_get_max_threads(); with one thread the graph is the same on every run).
#pragma once

#include "index/vector_index.h"

namespace engram::index {

// True when `factory` names the hnswlib backend.
bool is_hnswlib_factory(const std::string& factory);

class HnswlibIndex final : public VectorIndex {
 public:
  static std::unique_ptr<HnswlibIndex> create(const IndexSpec& spec);
  static std::unique_ptr<HnswlibIndex> deserialize(const IndexSpec& spec, const std::uint8_t* bytes, std::size_t size);
  ~HnswlibIndex() override;

  bool is_trained() const override { return true; }
  std::size_t min_train_points() const override { return 0; }
  std::size_t auto_train_points() const override { return 0; }
  void train(std::size_t, const float*) override {}
  void add(std::size_t n, const float* x, const std::uint64_t* ids) override;
  void remove(const std::vector<std::uint64_t>& ids) override;
  void search(std::size_t n, const float* x, int k, float* scores, std::uint64_t* ids,
              const SearchTuning& tuning) const override;
  bool can_filter() const override { return true; }  // hnswlib_filtered_search.h
  bool walks_graph() const override { return true; }
  // The graph holds every key as given (KernelSpace stores the floats): exact copies.
  bool reconstruct(std::size_t n, const std::uint64_t* ids, float* out, std::vector<bool>* found) const override;
  std::size_t size() const override;
  std::size_t tombstones() const override;
  void serialize_to(ByteSink& out) const override;

 private:
  explicit HnswlibIndex(const IndexSpec& spec);
  // How many threads add() inserts a batch on: 1 for small batches and for batches that
  // update points already in the graph.
  std::size_t insert_threads(std::size_t n, const std::uint64_t* ids) const;
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace engram::index
