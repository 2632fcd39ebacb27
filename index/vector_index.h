// index/vector_index.h — the key index of one memory: FAISS, and nothing of RocksDB.
//
// Any FAISS factory string works ("Flat", "HNSW32", "IVF1024,Flat", "IVF256,PQ16", ...). Ids
// are the store's slot ids. Removal is real where FAISS can remove; HNSW cannot, so removed
// entries become tombstones that searches skip (through FAISS's IDSelector, so the k results
// are still the k best live ones) until the index is rebuilt.
//
// Thread-safety: const methods may run concurrently; mutating methods need exclusive access
// (the owning Memory holds a reader/writer lock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engram/config.h"

namespace engram::index {

struct IndexSpec {
  int dim = 0;
  Metric metric = Metric::kInnerProduct;
  std::string factory = "Flat";
  std::string search_params;  // FAISS ParameterSpace syntax; empty: Engram's defaults
  std::string device = "cpu";
};

class VectorIndex {
 public:
  // Throws kInvalidArgument when FAISS rejects the factory string or the search parameters.
  static std::unique_ptr<VectorIndex> create(const IndexSpec& spec);
  // Rebuilds an index from serialize()'s bytes. Throws kCorruption when they do not parse.
  static std::unique_ptr<VectorIndex> deserialize(const IndexSpec& spec,
                                                  const std::vector<std::uint8_t>& bytes);
  ~VectorIndex();

  bool is_trained() const;
  // The fewest points train() accepts, and the count at which a memory trains by itself
  // (FAISS's rule of thumb: 39 points per centroid). Both 0 for types that need no training.
  std::size_t min_train_points() const;
  std::size_t auto_train_points() const;
  // x: n × dim. Throws kFailedPrecondition if n < min_train_points().
  void train(std::size_t n, const float* x);

  // x: n × dim; ids: n. REQUIRES: is_trained(); no id already live in the index.
  void add(std::size_t n, const float* x, const std::uint64_t* ids);
  // Ids not in the index are ignored.
  void remove(const std::vector<std::uint64_t>& ids);

  // x: n × dim. Fills scores and ids (n × k each), best first; "higher is closer" for every
  // metric (L2 distances are negated). Missing results: id kNoSlot, score -inf.
  void search(std::size_t n, const float* x, int k, float* scores, std::uint64_t* ids) const;

  std::size_t size() const;        // live entries
  std::size_t tombstones() const;  // removed entries still held (HNSW only)
  int dim() const { return spec_.dim; }

  std::vector<std::uint8_t> serialize() const;

 private:
  explicit VectorIndex(const IndexSpec& spec);
  struct Rep;
  IndexSpec spec_;
  std::unique_ptr<Rep> rep_;
};

}  // namespace engram::index
