// index/vector_index.h — the key index of one memory: FAISS or hnswlib, nothing of RocksDB.
//
// Ids are the store's slot ids. Removal is real where the index can remove; HNSW graphs
// cannot, so removed entries become tombstones that searches skip (so the k results are still
// the k best live ones) until the index is rebuilt.
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
#include "index/id_filter.h"

namespace engram::index {

struct IndexSpec {
  int dim = 0;
  Metric metric = Metric::kInnerProduct;
  std::string factory = "Flat";
  std::string search_params;  // FAISS ParameterSpace syntax; empty: Engram's defaults
  std::string device = "cpu";
  int ef_construction = 0;    // HNSW graphs; 0: kDefaultEfConstruction
};

// Per-search overrides of an index's search parameters; 0 keeps the index's own setting. A
// knob the index type does not have is ignored.
struct SearchTuning {
  int ef = 0;      // efSearch of an HNSW graph (FAISS HNSW, hnswlib, an IVF's HNSW quantizer)
  int nprobe = 0;  // inverted lists an IVF index scans
  // Results only from these ids (null: any). Applied inside the search, so k results come back
  // whenever k live ids are accepted and the index reaches them. REQUIRES: can_filter().
  const IdFilter* filter = nullptr;
  // The share of the index's live entries `filter` accepts (0..1], which sizes a graph's
  // filtered walk (filtered_walk_width in filtered_graph_search.h).
  double filter_share = 1.0;
};

// efConstruction of HNSW graphs built without one. FAISS's own default, 40, builds a graph so
// poor that at 500k 128-d unit keys recall@10 ≥ 0.95 took efSearch 256, where hnswlib's
// customary 200 took 24 (issue #10's side-by-side run): searches pay for a cheap build.
constexpr int kDefaultEfConstruction = 200;

// The index of a memory of configuration `c`.
IndexSpec index_spec_of(const MemoryConfig& c);

// The interface every index backend implements. Two backends exist:
//  * FAISS (faiss_index.h) for every FAISS factory string;
//  * hnswlib (hnswlib_index.h) for "HNSWlib<M>" (e.g. "HNSWlib32"): the same graph as FAISS's
//    HNSW<M>, searched about twice as fast as Debian's FAISS build (see bench/README.md).
// Where serialize_to() writes: appends, and may patch bytes it wrote earlier (a length that is
// known only once what follows it is written).
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(const void* data, std::size_t n) = 0;
  virtual std::uint64_t position() const = 0;  // bytes written so far
  virtual void write_at(std::uint64_t position, const void* data, std::size_t n) = 0;
};

class VectorIndex {
 public:
  // Throws kInvalidArgument when the backend rejects the factory string or search parameters.
  static std::unique_ptr<VectorIndex> create(const IndexSpec& spec);
  // Rebuilds an index from serialize()'s bytes (read, not kept: they may be a mapped file).
  // Throws kCorruption if they do not parse.
  static std::unique_ptr<VectorIndex> deserialize(const IndexSpec& spec, const std::uint8_t* bytes,
                                                  std::size_t size);
  virtual ~VectorIndex() = default;

  virtual bool is_trained() const = 0;
  // The fewest points train() accepts, and the count at which a memory trains by itself
  // (FAISS's rule of thumb: 39 points per centroid). Both 0 for types that need no training.
  virtual std::size_t min_train_points() const = 0;
  virtual std::size_t auto_train_points() const = 0;
  // x: n × dim. Throws kFailedPrecondition if n < min_train_points().
  virtual void train(std::size_t n, const float* x) = 0;

  // x: n × dim; ids: n. REQUIRES: is_trained(); no id already live in the index.
  virtual void add(std::size_t n, const float* x, const std::uint64_t* ids) = 0;
  // Ids not in the index are ignored.
  virtual void remove(const std::vector<std::uint64_t>& ids) = 0;

  // x: n × dim. Fills scores and ids (n × k each), best first; "higher is closer" for every
  // metric (L2 distances are negated). Missing results: id kNoSlot, score -inf. `tuning`
  // overrides the search parameters for this call only: the index itself is not changed, so
  // concurrent searches with different tunings do not affect each other.
  virtual void search(std::size_t n, const float* x, int k, float* scores, std::uint64_t* ids,
                      const SearchTuning& tuning) const = 0;

  // Whether search() honours SearchTuning::filter. Indexes that cannot (PQ codes, a GPU) leave
  // filtered searches to an exact scan of the accepted ids.
  virtual bool can_filter() const { return false; }
  // Whether search() is an exhaustive scan of exact keys (Flat): a filtered search then costs
  // less as an exact scan of the accepted keys alone, with no test per stored key.
  virtual bool exhaustive() const { return false; }
  // Whether a filtered search() walks a graph (filtered_graph_search.h): its cost grows as the
  // filter narrows, about k / selectivity nodes, where an IVF scans the same lists whatever the
  // filter. The planner (api/src/memory_filter.cc) scans exactly sooner for such an index.
  virtual bool walks_graph() const { return false; }

  // Copies the vectors stored under `ids` (n) into out (n × dim) when the index holds them
  // exactly (uncompressed, in RAM: Flat, HNSW graphs, IVF…,Flat): found[i] says whether ids[i]
  // is live in the index. Returns false, writing nothing, when it cannot (compressed codes, a
  // GPU): read the keys from the store instead. Lets a retrieve, and an exact scan of a filter's
  // slots, skip a store lookup per key.
  virtual bool reconstruct(std::size_t n, const std::uint64_t* ids, float* out,
                           std::vector<bool>* found) const {
    (void)n, (void)ids, (void)out, (void)found;
    return false;
  }

  virtual std::size_t size() const = 0;        // live entries
  virtual std::size_t tombstones() const = 0;  // removed entries still held (HNSW only)
  int dim() const { return spec_.dim; }

  // Writes the index's bytes (what deserialize() reads) to `out`, without holding them all in
  // memory: a checkpoint of a large index streams to its file.
  virtual void serialize_to(ByteSink& out) const = 0;
  // The same bytes in memory (tests, small indexes).
  std::vector<std::uint8_t> serialize() const;

 protected:
  explicit VectorIndex(const IndexSpec& spec) : spec_(spec) {}
  IndexSpec spec_;
};

}  // namespace engram::index
