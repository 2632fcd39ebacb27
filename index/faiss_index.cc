#include "index/faiss_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>
#include <vector>

#include <faiss/AutoTune.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexPQ.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/VectorTransform.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/HNSW.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/utils/Heap.h>
#ifdef ENGRAM_WITH_GPU
#include <faiss/gpu/GpuCloner.h>
#include <faiss/gpu/StandardGpuResources.h>
#endif

#include "engram/error.h"
#include "engram/types.h"
#include "index/filtered_graph_search.h"

namespace engram::index {
namespace {

using faiss_idx = faiss::Index::idx_t;

// The one place FAISS exceptions become engram errors.
template <typename Fn>
auto faiss_call(const std::string& what, ErrorCode code, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const faiss::FaissException& e) {
    throw Error(code, what + ": " + e.what());
  }
}

// Accepts the ids whose internal (FAISS-side) position is not tombstoned.
struct LiveSelector : faiss::IDSelector {
  const std::vector<std::uint8_t>* dead;
  explicit LiveSelector(const std::vector<std::uint8_t>* d) : dead(d) {}
  bool is_member(idx_t i) const override {
    return static_cast<std::size_t>(i) >= dead->size() || !(*dead)[i];
  }
};

// Accepts the slot ids a filtered search may return (indexes that store ids natively: IVF).
struct FilterSelector : faiss::IDSelector {
  const IdFilter* filter;
  explicit FilterSelector(const IdFilter* f) : filter(f) {}
  bool is_member(idx_t id) const override { return filter->contains(static_cast<std::uint64_t>(id)); }
};

// Accepts the FAISS positions (behind an IndexIDMap2) that are live and whose slot id `filter`
// accepts.
struct FilterPositionSelector : faiss::IDSelector {
  const std::vector<std::uint8_t>* dead;
  const std::vector<faiss::Index::idx_t>* id_map;
  const IdFilter* filter;
  FilterPositionSelector(const std::vector<std::uint8_t>* d, const std::vector<faiss::Index::idx_t>* m,
                         const IdFilter* f)
      : dead(d), id_map(m), filter(f) {}
  bool is_member(idx_t i) const override {
    const auto pos = static_cast<std::size_t>(i);
    if (pos < dead->size() && (*dead)[pos]) return false;
    return pos < id_map->size() && filter->contains(static_cast<std::uint64_t>((*id_map)[pos]));
  }
};

// The most centroids (or, for a learned transform, dimensions) any trained part of `index` fits:
// training needs at least that many points. Looks through transforms ("PCA64,IVF1024,Flat") and
// HNSW storage ("HNSW32_PQ8"), which FAISS trains as part of the whole.
std::size_t centroid_count(const faiss::Index* index) {
  std::size_t most = 0;
  if (auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(index)) {
    for (const faiss::VectorTransform* vt : pre->chain) {
      if (!vt->is_trained) most = std::max<std::size_t>(most, static_cast<std::size_t>(vt->d_in));
      if (dynamic_cast<const faiss::OPQMatrix*>(vt)) most = std::max<std::size_t>(most, 256);  // its PQ's ksub
    }
    return std::max(most, centroid_count(pre->index));
  }
  if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(index)) return centroid_count(hnsw->storage);
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) most = std::max(most, ivf->nlist);
  if (auto* pq = dynamic_cast<const faiss::IndexIVFPQ*>(index)) most = std::max(most, pq->pq.ksub);
  if (auto* pq = dynamic_cast<const faiss::IndexPQ*>(index)) most = std::max(most, pq->pq.ksub);
  return most;
}

// --- HNSW searches with a per-call ef
//
// FAISS 1.7.3 sizes an HNSW search's candidate list by the index's own efSearch (HNSW::search:
// MinimaxHeap(max(hnsw.efSearch, k))) and reads SearchParametersHNSW::efSearch only for its
// stopping rule, so a per-call ef above the index's would change next to nothing (FAISS 1.7.4
// sizes the list by the parameter). A search with a per-call ef therefore walks the graph here:
// the same greedy descent through the upper levels and the same bounded best-first search of
// level 0 as HNSW::search (upper_beam 1, bounded queue), with the list sized by the call's ef.
// It reads the graph and writes nothing shared: each thread has its own visited table and
// distance computer, as in IndexHNSW::search.

using storage_idx = faiss::HNSW::storage_idx_t;

// HNSW.cpp's greedy_update_nearest: moves `nearest` to its closest neighbour on `level` until
// none is closer.
void greedy_descent(const faiss::HNSW& hnsw, faiss::DistanceComputer& dis, int level, storage_idx& nearest,
                    float& d_nearest) {
  for (;;) {
    const storage_idx previous = nearest;
    std::size_t begin, end;
    hnsw.neighbor_range(nearest, level, &begin, &end);
    for (std::size_t i = begin; i < end; i++) {
      const storage_idx v = hnsw.neighbors[i];
      if (v < 0) break;
      const float d = dis(v);
      if (d < d_nearest) {
        nearest = v;
        d_nearest = d;
      }
    }
    if (nearest == previous) return;
  }
}

// HNSW.cpp's search_from_candidates on level 0: the k nearest (max-heap D, I of size k) found by
// expanding `candidates`, stopping once `ef` processed candidates are closer than the next one.
// `sel` (null: all) filters results, not the walk, as FAISS does for tombstones.
void search_level0(const faiss::HNSW& hnsw, faiss::DistanceComputer& dis, int k, faiss_idx* I, float* D,
                   faiss::HNSW::MinimaxHeap& candidates, faiss::VisitedTable& vt, int ef,
                   const faiss::IDSelector* sel) {
  int nres = 0;
  auto offer = [&](storage_idx v, float d) {
    if (sel && !sel->is_member(v)) return;
    if (nres < k) faiss::maxheap_push(++nres, D, I, d, static_cast<faiss_idx>(v));
    else if (d < D[0]) faiss::maxheap_replace_top(nres, D, I, d, static_cast<faiss_idx>(v));
  };
  for (int i = 0; i < candidates.size(); i++) {
    offer(candidates.ids[i], candidates.dis[i]);
    vt.set(candidates.ids[i]);
  }
  const bool dis_check = hnsw.check_relative_distance;
  int steps = 0;
  while (candidates.size() > 0) {
    float d0 = 0;
    const storage_idx v0 = candidates.pop_min(&d0);
    if (dis_check && candidates.count_below(d0) >= ef) break;
    std::size_t begin, end;
    hnsw.neighbor_range(v0, 0, &begin, &end);
    for (std::size_t j = begin; j < end; j++) {
      const storage_idx v = hnsw.neighbors[j];
      if (v < 0) break;
      if (vt.get(v)) continue;
      vt.set(v);
      const float d = dis(v);
      offer(v, d);
      candidates.push(v, d);
    }
    if (!dis_check && ++steps > ef) break;
  }
}

// IndexHNSW.cpp's storage_distance_computer: distances to the graph's stored vectors, inner
// products negated so that smaller is closer for every metric.
struct NegatedDistances final : faiss::DistanceComputer {
  explicit NegatedDistances(faiss::DistanceComputer* d) : inner(d) {}
  void set_query(const float* x) override { inner->set_query(x); }
  float operator()(idx_t i) override { return -(*inner)(i); }
  float symmetric_dis(idx_t i, idx_t j) override { return -inner->symmetric_dis(i, j); }
  std::unique_ptr<faiss::DistanceComputer> inner;
};

std::unique_ptr<faiss::DistanceComputer> storage_distances(const faiss::Index* storage) {
  std::unique_ptr<faiss::DistanceComputer> d(storage->get_distance_computer());
  if (storage->metric_type == faiss::METRIC_INNER_PRODUCT) return std::make_unique<NegatedDistances>(d.release());
  return d;
}

// True when walk_graph() searches `graph` as IndexHNSW::search would.
bool walkable(const faiss::IndexHNSW* graph) {
  return graph && graph->storage && !graph->reconstruct_from_neighbors && graph->hnsw.upper_beam == 1 &&
         graph->hnsw.search_bounded_queue;
}

// What both graph walks below share: per thread a visited table and a distance computer, per
// query the greedy descent through the upper levels, then `base(dis, vt, nearest, d_nearest, D, I)`
// fills the query's k distances and labels at level 0 (labels are graph positions; -1 where fewer
// were found); inner products, negated for the heaps, are turned back into scores at the end.
template <typename Base>
void walk_queries(const faiss::IndexHNSW& graph, faiss_idx n, const float* x, int k, float* distances,
                  faiss_idx* labels, Base base) {
  const faiss::HNSW& hnsw = graph.hnsw;
  storage_distances(graph.storage);  // throws here, not inside the parallel region, if it cannot
#pragma omp parallel if (n > 1)
  {
    faiss::VisitedTable vt(static_cast<int>(graph.ntotal));
    std::unique_ptr<faiss::DistanceComputer> dis = storage_distances(graph.storage);
#pragma omp for schedule(guided)
    for (faiss_idx i = 0; i < n; i++) {
      faiss_idx* I = labels + i * k;
      float* D = distances + i * k;
      std::fill_n(I, k, faiss_idx{-1});
      std::fill_n(D, k, std::numeric_limits<float>::infinity());
      dis->set_query(x + i * graph.d);
      if (hnsw.entry_point != -1) {
        storage_idx nearest = hnsw.entry_point;
        float d_nearest = (*dis)(nearest);
        for (int level = hnsw.max_level; level >= 1; level--) greedy_descent(hnsw, *dis, level, nearest, d_nearest);
        base(*dis, vt, nearest, d_nearest, D, I);
        vt.advance();
      }
    }
  }
  if (graph.metric_type == faiss::METRIC_INNER_PRODUCT) {
    for (faiss_idx i = 0; i < n * k; i++) distances[i] = -distances[i];
  }
}

// IndexHNSW::search with efSearch `ef`: n queries, k results each into distances/labels.
void walk_graph(const faiss::IndexHNSW& graph, faiss_idx n, const float* x, int k, int ef,
                const faiss::IDSelector* sel, float* distances, faiss_idx* labels) {
  walk_queries(graph, n, x, k, distances, labels,
               [&](faiss::DistanceComputer& dis, faiss::VisitedTable& vt, storage_idx nearest, float d_nearest,
                   float* D, faiss_idx* I) {
                 faiss::maxheap_heapify(k, D, I);
                 faiss::HNSW::MinimaxHeap candidates(std::max(ef, k));
                 candidates.push(nearest, d_nearest);
                 search_level0(graph.hnsw, dis, k, I, D, candidates, vt, ef, sel);
                 faiss::maxheap_reorder(k, D, I);
               });
}

// The base level of a FAISS HNSW graph as filtered_base_search() walks it, for one query.
class FaissBaseLevel {
 public:
  FaissBaseLevel(const faiss::HNSW& hnsw, faiss::DistanceComputer& dis, faiss::VisitedTable& vt,
                 const faiss::IDSelector& sel)
      : hnsw_(hnsw), dis_(dis), vt_(vt), sel_(sel) {}
  template <typename F>
  void neighbors(storage_idx v, F f) const {
    std::size_t begin, end;
    hnsw_.neighbor_range(v, 0, &begin, &end);
    for (std::size_t i = begin; i < end; i++) {
      const storage_idx u = hnsw_.neighbors[i];
      if (u < 0) break;
      f(u);
    }
  }
  float distance(storage_idx v) { return dis_(v); }
  bool first_visit(storage_idx v) {
    if (vt_.get(v)) return false;
    vt_.set(v);
    return true;
  }
  bool accepted(storage_idx v) const { return sel_.is_member(v); }

 private:
  const faiss::HNSW& hnsw_;
  faiss::DistanceComputer& dis_;
  faiss::VisitedTable& vt_;
  const faiss::IDSelector& sel_;
};

// walk_graph() for a filtered search: only positions `sel` accepts are results, and the walk
// goes on until ef of them are found (filtered_graph_search.h), so k results come back whenever
// k accepted positions are reachable.
void walk_graph_filtered(const faiss::IndexHNSW& graph, faiss_idx n, const float* x, int k, int ef,
                         const faiss::IDSelector& sel, float* distances, faiss_idx* labels) {
  walk_queries(graph, n, x, k, distances, labels,
               [&](faiss::DistanceComputer& dis, faiss::VisitedTable& vt, storage_idx nearest, float d_nearest,
                   float* D, faiss_idx* I) {
                 FaissBaseLevel base(graph.hnsw, dis, vt, sel);
                 auto top = filtered_base_search<storage_idx>(base, nearest, d_nearest,
                                                              static_cast<std::size_t>(std::max(ef, k)));
                 while (top.size() > static_cast<std::size_t>(k)) top.pop();
                 for (std::size_t j = top.size(); j-- > 0; top.pop()) {
                   D[j] = top.top().first;
                   I[j] = top.top().second;
                 }
               });
}

// The search parameters of one call: efSearch and nprobe reach FAISS through SearchParameters
// objects made for this search, never through the index's own fields, which other threads read
// while they search. They nest as the index does: through transforms
// (SearchParametersPreTransform), into an IVF's coarse quantizer (quantizer_params, e.g. the HNSW
// of "IVF4096_HNSW32,Flat"). Fields the call does not override are copied from the index, since
// FAISS takes a SearchParameters object whole (its nprobe would otherwise be 1). An ef that
// reaches FAISS's HNSW search this way (an IVF's HNSW quantizer; a graph walk_graph() cannot
// search) is bounded by that graph's own efSearch in FAISS 1.7.3, as explained above.
class CallParams {
 public:
  // The parameters for searching `index` (below any IDMap) with `tuning`, filtering an HNSW
  // graph's results through `sel` (null: no filter); null when the index's own settings apply.
  const faiss::SearchParameters* build(const faiss::Index* index, const SearchTuning& tuning,
                                       faiss::IDSelector* sel) {
    return make(index, tuning, sel);
  }

 private:
  template <typename P>
  P* own() {
    auto p = std::make_unique<P>();
    P* raw = p.get();
    owned_.push_back(std::move(p));
    return raw;
  }

  faiss::SearchParameters* make(const faiss::Index* index, const SearchTuning& tuning,
                                faiss::IDSelector* sel) {
    if (auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(index)) {
      faiss::SearchParameters* inner = make(pre->index, tuning, sel);
      if (!inner) return nullptr;
      auto* p = own<faiss::SearchParametersPreTransform>();
      p->index_params = inner;
      return p;
    }
    if (auto* graph = dynamic_cast<const faiss::IndexHNSW*>(index)) {
      if (tuning.ef <= 0 && !sel) return nullptr;
      auto* p = own<faiss::SearchParametersHNSW>();
      p->efSearch = tuning.ef > 0 ? tuning.ef : graph->hnsw.efSearch;
      p->check_relative_distance = graph->hnsw.check_relative_distance;
      p->sel = sel;
      return p;
    }
    if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) {
      faiss::SearchParameters* quantizer =
          tuning.ef > 0 ? make(ivf->quantizer, SearchTuning{tuning.ef, 0}, nullptr) : nullptr;
      if (tuning.nprobe <= 0 && !quantizer && !sel) return nullptr;
      auto* p = own<faiss::SearchParametersIVF>();
      p->sel = sel;  // slot ids: an IVF stores them natively
      p->nprobe = tuning.nprobe > 0 ? static_cast<std::size_t>(tuning.nprobe) : ivf->nprobe;
      p->max_codes = ivf->max_codes;
      p->quantizer_params = quantizer;
      return p;
    }
    if (sel) {  // a filtered search of a flat-code index (Flat, SQ): see FaissIndex::can_filter
      auto* p = own<faiss::SearchParameters>();
      p->sel = sel;
      return p;
    }
    return nullptr;  // no knob of this call applies (Flat, PQ, ...)
  }

  std::vector<std::unique_ptr<faiss::SearchParameters>> owned_;
};

}  // namespace

// How slot ids reach FAISS depends on the index type:
//  * IVF family: the inverted lists store ids natively (add_with_ids, remove_ids by id);
//    wrapping it in IndexIDMap would be wrong, since IVF keeps positions stable on removal
//    while IndexIDMap assumes they shift down.
//  * HNSW: an IndexIDMap2 maps positions to ids; removal marks tombstones (HNSW cannot remove).
//  * everything else (Flat, PQ, SQ, LSH...): an IndexIDMap2, whose removal shifts positions
//    exactly as these flat-code indexes do.
struct FaissIndex::Rep {
  std::unique_ptr<faiss::Index> top;  // what is added to, searched and serialized; owns the rest
  faiss::IndexIDMap2* map = nullptr;  // set unless the index stores ids natively
  faiss::Index* inner = nullptr;      // the factory-built index (maybe on a GPU)
  faiss::IndexHNSW* hnsw = nullptr;   // set when `inner` cannot remove: tombstones instead
  std::vector<std::uint8_t> dead;     // by FAISS position; HNSW only
  std::unordered_map<std::uint64_t, faiss_idx> position;  // live slot id -> position; HNSW only
  std::size_t tombstones = 0;
#ifdef ENGRAM_WITH_GPU
  std::unique_ptr<faiss::gpu::StandardGpuResources> gpu;
#endif

  // Takes ownership of `index` (an IndexIDMap2, or an index with native ids).
  void adopt(faiss::Index* index) {
    top.reset(index);
    map = dynamic_cast<faiss::IndexIDMap2*>(index);
    if (map) map->own_fields = true;
    inner = map ? map->index : index;
    hnsw = dynamic_cast<faiss::IndexHNSW*>(inner);
  }
};

FaissIndex::FaissIndex(const IndexSpec& spec) : VectorIndex(spec), rep_(std::make_unique<Rep>()) {}
FaissIndex::~FaissIndex() = default;

namespace {

// True for indexes that keep slot ids themselves and keep them stable across removals.
bool stores_ids_natively(const faiss::Index* index) {
  for (;;) {
    if (dynamic_cast<const faiss::IndexIVF*>(index)) return true;
    auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(index);
    if (!pre) return false;
    index = pre->index;  // "PCA64,IVF1024,Flat" and the like forward ids to the IVF
  }
}

faiss::MetricType to_faiss(Metric m) {
  return m == Metric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
}

void apply_search_params(faiss::Index* inner, const std::string& params) {
  faiss::ParameterSpace ps;
  std::string effective = params;
  if (effective.empty()) {
    // Defaults that keep recall@10 above 0.9 on clustered data at 1M while staying fast.
    if (dynamic_cast<faiss::IndexHNSW*>(inner)) effective = "efSearch=64";
    if (dynamic_cast<faiss::IndexIVF*>(inner)) effective = "nprobe=16";
  }
  if (effective.empty()) return;
  faiss_call("invalid search parameters '" + effective + "'", ErrorCode::kInvalidArgument,
             [&] { ps.set_index_parameters(inner, effective.c_str()); });
}

// efConstruction of the HNSW graph in `inner` (behind any transforms), for the inserts to come;
// a deserialized graph gets it too: the setting belongs to the memory, not to the file.
void apply_ef_construction(faiss::Index* inner, int ef_construction) {
  faiss::Index* part = inner;
  while (auto* pre = dynamic_cast<faiss::IndexPreTransform*>(part)) part = pre->index;
  if (auto* graph = dynamic_cast<faiss::IndexHNSW*>(part))
    graph->hnsw.efConstruction = ef_construction > 0 ? ef_construction : kDefaultEfConstruction;
}

// The IVF index whose inverted lists hold the keys as they are (IVF…,Flat), if `index` is one:
// exactly an IndexIVFFlat (a subclass may store its codes otherwise).
faiss::IndexIVFFlat* exact_ivf(faiss::Index* index) {
  auto* ivf = dynamic_cast<faiss::IndexIVFFlat*>(index);
  return ivf && typeid(*ivf) == typeid(faiss::IndexIVFFlat) ? ivf : nullptr;
}

// An IVF…,Flat index keeps a hash table from slot id to its place in the inverted lists (FAISS's
// direct map): a key is then read back from RAM bit for bit (an exact scan of a filter's few
// slots gathers them without reading the store), and removing a slot moves one entry instead of
// scanning every list. It costs about 50 bytes a slot in RAM and 16 in the checkpoint.
void keep_direct_map(faiss::Index* index) {
  if (auto* ivf = exact_ivf(index); ivf && ivf->direct_map.type != faiss::DirectMap::Hashtable)
    ivf->set_direct_map_type(faiss::DirectMap::Hashtable);
}
}  // namespace

std::unique_ptr<FaissIndex> FaissIndex::create(const IndexSpec& spec) {
  if (spec.device != "cpu" && spec.device != "gpu") {
    throw Error(ErrorCode::kInvalidArgument, "device must be \"cpu\" or \"gpu\", not \"" + spec.device + "\"");
  }
#ifndef ENGRAM_WITH_GPU
  if (spec.device == "gpu") {
    throw Error(ErrorCode::kInvalidArgument,
                "device \"gpu\" needs Engram built with -DENGRAM_WITH_GPU=ON and a FAISS with GPU support");
  }
#endif
  std::unique_ptr<FaissIndex> index(new FaissIndex(spec));
  faiss::Index* inner = nullptr;
  const std::string what = "invalid index factory string '" + spec.factory + "'";
  try {
    inner = faiss::index_factory(spec.dim, spec.factory.c_str(), to_faiss(spec.metric));
  } catch (const faiss::FaissException& e) {
    throw Error(ErrorCode::kInvalidArgument, what + ": " + e.what());
  } catch (const std::exception& e) {  // the factory also throws std errors for some inputs
    throw Error(ErrorCode::kInvalidArgument, what + ": " + e.what());
  }
  // FAISS's factory turns on polysemous training for PQ codes: minutes of simulated annealing
  // that only pays off with polysemous Hamming filtering, which Engram does not use. PQ codes
  // also sit behind transforms ("PCA64,PQ16") and inside HNSW graphs ("HNSW32_PQ8").
  for (faiss::Index* part = inner; part != nullptr;) {
    if (auto* ivfpq = dynamic_cast<faiss::IndexIVFPQ*>(part)) ivfpq->do_polysemous_training = false;
    if (auto* pq = dynamic_cast<faiss::IndexPQ*>(part)) pq->do_polysemous_training = false;
    if (auto* pre = dynamic_cast<faiss::IndexPreTransform*>(part)) part = pre->index;
    else if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(part)) part = hnsw->storage;
    else part = nullptr;
  }
  if (dynamic_cast<faiss::IndexIDMap*>(inner)) {
    delete inner;
    throw Error(ErrorCode::kInvalidArgument, what + ": Engram maps ids itself; drop the IDMap prefix");
  }
  apply_ef_construction(inner, spec.ef_construction);
  keep_direct_map(inner);
  try {
    apply_search_params(inner, spec.search_params);
  } catch (...) {
    delete inner;
    throw;
  }
#ifdef ENGRAM_WITH_GPU
  if (spec.device == "gpu") {
    if (dynamic_cast<faiss::IndexHNSW*>(inner)) {
      delete inner;
      throw Error(ErrorCode::kInvalidArgument, "HNSW indexes cannot be placed on a GPU");
    }
    index->rep_->gpu = std::make_unique<faiss::gpu::StandardGpuResources>();
    faiss::Index* on_gpu = faiss::gpu::index_cpu_to_gpu(index->rep_->gpu.get(), 0, inner);
    delete inner;
    inner = on_gpu;
  }
#endif
  index->rep_->adopt(stores_ids_natively(inner) ? inner : new faiss::IndexIDMap2(inner));
  return index;
}

namespace {
// FAISS reads from bytes it does not own (a mapped checkpoint): its VectorIOReader would need
// them copied into a vector first.
struct SpanReader final : faiss::IOReader {
  SpanReader(const std::uint8_t* data, std::size_t size) : data(data), size(size) {}
  std::size_t operator()(void* ptr, std::size_t item, std::size_t nitems) override {
    if (item == 0 || pos >= size) return 0;
    const std::size_t n = std::min(nitems, (size - pos) / item);
    if (n == 0) return 0;  // FAISS passes a null ptr for empty vectors
    std::memcpy(ptr, data + pos, n * item);
    pos += n * item;
    return n;
  }
  const std::uint8_t* data;
  std::size_t size, pos = 0;
};
}  // namespace

std::unique_ptr<FaissIndex> FaissIndex::deserialize(const IndexSpec& spec, const std::uint8_t* bytes,
                                                    std::size_t size) {
  std::unique_ptr<FaissIndex> index(new FaissIndex(spec));
  // Layout: u64 faiss bytes | faiss index | u64 dead count | dead positions (u64 each).
  auto fail = [](const std::string& why) -> Error {
    return Error(ErrorCode::kCorruption, "index checkpoint does not parse: " + why);
  };
  if (size < 8) throw fail("too short");
  std::uint64_t faiss_bytes;
  std::memcpy(&faiss_bytes, bytes, 8);
  if (faiss_bytes > size - 8) throw fail("length field out of range");
  const std::size_t tail = 8 + faiss_bytes;
  if (size < tail + 8) throw fail("missing tombstone list");
  std::uint64_t ndead;
  std::memcpy(&ndead, bytes + tail, 8);
  if (ndead > (size - tail - 8) / 8 || size != tail + 8 + ndead * 8) throw fail("bad tombstone list");
  std::vector<std::uint64_t> dead_positions(ndead);
  if (ndead > 0) std::memcpy(dead_positions.data(), bytes + tail + 8, 8 * ndead);  // data() may be null
  SpanReader reader(bytes + 8, faiss_bytes);
  faiss::Index* raw = nullptr;
  try {
    raw = faiss::read_index(&reader);
  } catch (const std::exception& e) {
    throw fail(e.what());
  }
  const bool mapped = dynamic_cast<faiss::IndexIDMap2*>(raw) != nullptr;
  if (raw->d != spec.dim || mapped == stores_ids_natively(raw)) {
    delete raw;
    throw fail("not an Engram index of dimension " + std::to_string(spec.dim));
  }
  index->rep_->adopt(raw);
  Rep& rep = *index->rep_;
  if (rep.hnsw) {
    faiss::IndexIDMap2* map = rep.map;
    rep.dead.assign(static_cast<std::size_t>(map->ntotal), 0);
    for (std::uint64_t pos : dead_positions) {
      if (pos >= rep.dead.size()) throw fail("tombstone out of range");
      if (!rep.dead[pos]) ++rep.tombstones;
      rep.dead[pos] = 1;
    }
    for (faiss_idx i = 0; i < map->ntotal; ++i) {
      if (!rep.dead[i]) rep.position[static_cast<std::uint64_t>(map->id_map[i])] = i;
    }
  } else if (ndead != 0) {
    throw fail("tombstones for an index that removes in place");
  }
  apply_ef_construction(rep.inner, spec.ef_construction);
  keep_direct_map(rep.inner);  // a checkpoint written before IVF indexes kept one
  apply_search_params(rep.inner, spec.search_params);
#ifdef ENGRAM_WITH_GPU
  if (spec.device == "gpu") {
    rep.gpu = std::make_unique<faiss::gpu::StandardGpuResources>();
    faiss::Index* on_gpu = faiss::gpu::index_cpu_to_gpu(rep.gpu.get(), 0, rep.top.get());
    rep.adopt(on_gpu);  // index_cpu_to_gpu clones IndexIDMap2 around a GPU sub-index
  }
#endif
  return index;
}

namespace {
// FAISS writes straight into the sink (its VectorIOWriter would grow a vector by doubling).
struct SinkWriter final : faiss::IOWriter {
  explicit SinkWriter(ByteSink& sink) : sink(sink) {}
  std::size_t operator()(const void* ptr, std::size_t item, std::size_t nitems) override {
    sink.write(ptr, item * nitems);
    return nitems;
  }
  ByteSink& sink;
};
}  // namespace

void FaissIndex::serialize_to(ByteSink& out) const {
  // Layout: u64 faiss bytes | faiss index | u64 dead count | dead positions (u64 each).
  const std::uint64_t start = out.position();
  std::uint64_t faiss_bytes = 0;
  out.write(&faiss_bytes, 8);  // patched below, once known
  SinkWriter writer(out);
  faiss_call("serializing the index", ErrorCode::kInternal, [&] {
#ifdef ENGRAM_WITH_GPU
    if (rep_->gpu) {  // checkpoints are always CPU indexes, so any build can open them
      std::unique_ptr<faiss::Index> on_cpu(faiss::gpu::index_gpu_to_cpu(rep_->top.get()));
      faiss::write_index(on_cpu.get(), &writer);
      return;
    }
#endif
    faiss::write_index(rep_->top.get(), &writer);
  });
  faiss_bytes = out.position() - start - 8;
  out.write_at(start, &faiss_bytes, 8);
  std::vector<std::uint64_t> dead;
  for (std::size_t i = 0; i < rep_->dead.size(); ++i) {
    if (rep_->dead[i]) dead.push_back(i);
  }
  const std::uint64_t ndead = dead.size();
  out.write(&ndead, 8);
  out.write(dead.data(), 8 * dead.size());
}

bool FaissIndex::is_trained() const { return rep_->top->is_trained; }

std::size_t FaissIndex::min_train_points() const {
  return is_trained() ? 0 : centroid_count(rep_->inner);
}

std::size_t FaissIndex::auto_train_points() const {
  return is_trained() ? 0 : 39 * centroid_count(rep_->inner);
}

void FaissIndex::train(std::size_t n, const float* x) {
  if (n < min_train_points()) {
    throw Error(ErrorCode::kFailedPrecondition,
                "index '" + spec_.factory + "' needs at least " + std::to_string(min_train_points()) +
                    " points to train, got " + std::to_string(n));
  }
  faiss_call("training the index", ErrorCode::kFailedPrecondition,
             [&] { rep_->top->train(static_cast<faiss_idx>(n), x); });
}

void FaissIndex::add(std::size_t n, const float* x, const std::uint64_t* ids) {
  if (n == 0) return;
  if (!is_trained()) throw Error(ErrorCode::kInternal, "add() on an untrained index");
  Rep& rep = *rep_;
  const faiss_idx first = rep.top->ntotal;
  static_assert(sizeof(faiss_idx) == sizeof(std::uint64_t), "ids are 64-bit on both sides");
  faiss_call("adding to the index", ErrorCode::kInternal, [&] {
    rep.top->add_with_ids(static_cast<faiss_idx>(n), x, reinterpret_cast<const faiss_idx*>(ids));
  });
  if (rep.hnsw) {
    rep.dead.resize(static_cast<std::size_t>(rep.top->ntotal), 0);
    for (std::size_t i = 0; i < n; ++i) rep.position[ids[i]] = first + static_cast<faiss_idx>(i);
  }
}

void FaissIndex::remove(const std::vector<std::uint64_t>& ids) {
  if (ids.empty()) return;
  Rep& rep = *rep_;
  if (rep.hnsw) {
    for (std::uint64_t id : ids) {
      auto it = rep.position.find(id);
      if (it == rep.position.end()) continue;
      rep.dead[it->second] = 1;
      ++rep.tombstones;
      rep.position.erase(it);
    }
    return;
  }
  const auto* list = reinterpret_cast<const faiss_idx*>(ids.data());
  if (exact_ivf(rep.inner)) {  // its direct map removes by lookup, and takes ids only as an array
    faiss::IDSelectorArray sel(ids.size(), list);
    faiss_call("removing from the index", ErrorCode::kInternal, [&] { rep.top->remove_ids(sel); });
    return;
  }
  faiss::IDSelectorBatch sel(ids.size(), list);
  faiss_call("removing from the index", ErrorCode::kInternal, [&] { rep.top->remove_ids(sel); });
}

void FaissIndex::search(std::size_t n, const float* x, int k, float* scores, std::uint64_t* ids,
                        const SearchTuning& tuning) const {
  if (n == 0) return;
  const Rep& rep = *rep_;
#ifdef ENGRAM_WITH_GPU
  if (rep.gpu && tuning.nprobe > 0) {  // GPU indexes are Flat or IVF: ef has nothing to tune
    throw Error(ErrorCode::kInvalidArgument, "a per-call nprobe is not supported for an index on a GPU");
  }
#endif
  CallParams call;
  auto* labels = reinterpret_cast<faiss_idx*>(ids);
  const std::size_t total = n * static_cast<std::size_t>(k);
  if (rep.top->ntotal == 0) {  // FAISS leaves the outputs of a search over nothing unwritten
    std::fill_n(ids, total, kNoSlot);
    std::fill_n(scores, total, -std::numeric_limits<float>::infinity());
    return;
  }
  if (tuning.filter && !can_filter()) throw Error(ErrorCode::kInternal, "a filtered search of an index that cannot filter");
  if (!rep.map) {  // ids stored natively (IVF)
    FilterSelector accept(tuning.filter);
    const SearchTuning used = tuning.filter ? filtered_ivf_tuning(tuning) : tuning;
    const faiss::SearchParameters* params = call.build(rep.top.get(), used, tuning.filter ? &accept : nullptr);
    faiss_call("searching the index", ErrorCode::kInternal, [&] {
      rep.top->search(static_cast<faiss_idx>(n), x, k, scores, labels, params);
    });
    if (tuning.filter) widen_filtered_ivf(n, x, k, used, accept, scores, labels);
  } else {
    // Search the inner index and translate positions to slot ids here, on the calling thread:
    // IndexIDMap2 translates in an OpenMP region (milliseconds of thread wake-up for a single
    // query on a busy machine) and forwards no search parameters (no tombstone selector).
    LiveSelector live(&rep.dead);
    const bool filter = rep.hnsw && rep.tombstones > 0;
    // An HNSW graph searched with a per-call ef is walked here (see walk_graph); everything else
    // goes to FAISS with the call's parameters.
    FilterPositionSelector accept(&rep.dead, &rep.map->id_map, tuning.filter);
    if (tuning.filter && rep.hnsw) {  // walkable: can_filter()
      const int ef = tuning.ef > 0 ? tuning.ef : rep.hnsw->hnsw.efSearch;
      const auto width = static_cast<int>(filtered_walk_width(static_cast<std::size_t>(ef), static_cast<std::size_t>(k), tuning.filter_share));
      faiss_call("searching the index", ErrorCode::kInternal, [&] {
        walk_graph_filtered(*rep.hnsw, static_cast<faiss_idx>(n), x, k, width, accept, scores, labels);
      });
    } else if (tuning.filter) {
      const faiss::SearchParameters* params = call.build(rep.inner, tuning, &accept);
      faiss_call("searching the index", ErrorCode::kInternal, [&] {
        rep.inner->search(static_cast<faiss_idx>(n), x, k, scores, labels, params);
      });
    } else if (tuning.ef > 0 && walkable(rep.hnsw)) {
      faiss_call("searching the index", ErrorCode::kInternal, [&] {
        walk_graph(*rep.hnsw, static_cast<faiss_idx>(n), x, k, tuning.ef, filter ? &live : nullptr, scores, labels);
      });
    } else {
      const faiss::SearchParameters* params = call.build(rep.inner, tuning, filter ? &live : nullptr);
      faiss_call("searching the index", ErrorCode::kInternal, [&] {
        rep.inner->search(static_cast<faiss_idx>(n), x, k, scores, labels, params);
      });
    }
    const auto& id_map = rep.map->id_map;
    for (std::size_t i = 0; i < total; ++i) {
      if (labels[i] < 0) continue;
      if (static_cast<std::size_t>(labels[i]) >= id_map.size()) {
        throw Error(ErrorCode::kInternal, "the index returned position " + std::to_string(labels[i]) +
                                              " of " + std::to_string(id_map.size()));
      }
      labels[i] = id_map[static_cast<std::size_t>(labels[i])];
    }
  }
  const bool negate = spec_.metric == Metric::kL2;
  for (std::size_t i = 0; i < total; ++i) {
    if (labels[i] < 0) {
      ids[i] = kNoSlot;
      scores[i] = -std::numeric_limits<float>::infinity();
    } else if (negate) {
      scores[i] = -scores[i];
    }
  }
}

// A filtered IVF search scans only the query's nprobe nearest lists, which may hold fewer than k
// accepted ids even when k exist elsewhere. The queries left short are searched again with four
// times the lists, up to all of them (then the search is exhaustive over the accepted ids), so k
// results come back whenever k exist.
namespace {
// The IVF of an index that stores ids natively (behind any transforms), or null.
const faiss::IndexIVF* ivf_of(const faiss::Index* part) {
  while (auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(part)) part = pre->index;
  return dynamic_cast<const faiss::IndexIVF*>(part);
}
}  // namespace

// A filter that accepts a fraction s of the slots leaves the query's nearest accepted slots
// farther away than its nearest slots, in lists the unfiltered nprobe does not reach: nprobe
// grows by 1/√s (×3.2 at 10 %, ×10 at 1 %, up to every list). The scan of each list tests the
// filter before it computes a distance, so the extra lists cost less than their size.
SearchTuning FaissIndex::filtered_ivf_tuning(const SearchTuning& tuning) const {
  const faiss::IndexIVF* ivf = ivf_of(rep_->top.get());
  if (!ivf || rep_->top->ntotal == 0) return tuning;
  const double s = std::max(1e-9, static_cast<double>(tuning.filter->count()) / static_cast<double>(rep_->top->ntotal));
  const std::size_t own = tuning.nprobe > 0 ? static_cast<std::size_t>(tuning.nprobe) : ivf->nprobe;
  SearchTuning wider = tuning;
  wider.nprobe = static_cast<int>(std::min<double>(static_cast<double>(ivf->nlist), std::ceil(static_cast<double>(own) / std::sqrt(std::min(1.0, s)))));
  return wider;
}

void FaissIndex::widen_filtered_ivf(std::size_t n, const float* x, int k, const SearchTuning& tuning,
                                    faiss::IDSelector& accept, float* scores, faiss_idx* labels) const {
  const faiss::IndexIVF* ivf = ivf_of(rep_->top.get());
  if (!ivf) return;
  const std::size_t kk = static_cast<std::size_t>(k);
  std::size_t nprobe = tuning.nprobe > 0 ? static_cast<std::size_t>(tuning.nprobe) : ivf->nprobe;
  std::vector<float> again;
  std::vector<faiss_idx> again_labels;
  while (nprobe < ivf->nlist) {
    std::vector<std::size_t> short_rows;
    for (std::size_t q = 0; q < n; ++q)
      if (labels[q * kk + kk - 1] < 0) short_rows.push_back(q);
    if (short_rows.empty()) return;
    nprobe = std::min(ivf->nlist, nprobe * 4);
    std::vector<float> xs(short_rows.size() * static_cast<std::size_t>(spec_.dim));
    for (std::size_t i = 0; i < short_rows.size(); ++i)
      std::copy_n(x + short_rows[i] * spec_.dim, spec_.dim, xs.begin() + static_cast<std::ptrdiff_t>(i * spec_.dim));
    again.resize(short_rows.size() * kk);
    again_labels.resize(short_rows.size() * kk);
    SearchTuning wider = tuning;
    wider.nprobe = static_cast<int>(nprobe);
    CallParams call;
    const faiss::SearchParameters* params = call.build(rep_->top.get(), wider, &accept);
    faiss_call("searching the index", ErrorCode::kInternal, [&] {
      rep_->top->search(static_cast<faiss_idx>(short_rows.size()), xs.data(), k, again.data(), again_labels.data(), params);
    });
    for (std::size_t i = 0; i < short_rows.size(); ++i) {
      std::copy_n(again.begin() + static_cast<std::ptrdiff_t>(i * kk), kk, scores + short_rows[i] * kk);
      std::copy_n(again_labels.begin() + static_cast<std::ptrdiff_t>(i * kk), kk, labels + short_rows[i] * kk);
    }
  }
}

bool FaissIndex::reconstruct(std::size_t n, const std::uint64_t* ids, float* out,
                             std::vector<bool>* found) const {
  const Rep& rep = *rep_;
  const std::size_t d = static_cast<std::size_t>(spec_.dim);
  if (const faiss::IndexIVFFlat* ivf = exact_ivf(rep.inner); ivf && ivf->direct_map.type == faiss::DirectMap::Hashtable) {
    found->assign(n, false);
    const auto& where = ivf->direct_map.hashtable;
    for (std::size_t i = 0; i < n; ++i) {
      const auto it = where.find(static_cast<faiss_idx>(ids[i]));
      if (it == where.end()) continue;
      ivf->reconstruct_from_offset(faiss::lo_listno(it->second), faiss::lo_offset(it->second), out + i * d);
      (*found)[i] = true;
    }
    return true;
  }
  // Only float storage gives keys back bit for bit: IndexFlat*, or HNSW over an IndexFlat.
  const faiss::Index* storage = rep.hnsw ? rep.hnsw->storage : rep.inner;
  if (rep.map == nullptr || dynamic_cast<const faiss::IndexFlat*>(storage) == nullptr) return false;
  found->assign(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    if (ids[i] == kNoSlot) continue;
    const auto it = rep.map->rev_map.find(static_cast<faiss_idx>(ids[i]));
    if (it == rep.map->rev_map.end()) continue;
    const auto pos = static_cast<std::size_t>(it->second);
    if (pos < rep.dead.size() && rep.dead[pos]) continue;  // an HNSW tombstone
    storage->reconstruct(it->second, out + i * d);
    (*found)[i] = true;
  }
  return true;
}

namespace {
// Whether a filtered search of `index` (`top_graph`: the HNSW graph the search walks itself, if
// any) returns k accepted results whenever k exist: FAISS 1.7.3 applies a selector inside the
// scan of flat codes (Flat, SQ) and of inverted lists; HNSW graphs are walked by
// walk_graph_filtered(). PQ codes refuse selectors, and a graph FAISS searches would only filter
// its results.
bool filterable(const faiss::Index* index, const faiss::IndexHNSW* top_graph) {
  if (auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(index)) return filterable(pre->index, nullptr);
  if (auto* graph = dynamic_cast<const faiss::IndexHNSW*>(index)) return graph == top_graph && walkable(graph);
  return dynamic_cast<const faiss::IndexIVF*>(index) || dynamic_cast<const faiss::IndexFlat*>(index) ||
         dynamic_cast<const faiss::IndexScalarQuantizer*>(index);
}
}  // namespace

bool FaissIndex::can_filter() const {
#ifdef ENGRAM_WITH_GPU
  if (rep_->gpu) return false;
#endif
  return filterable(rep_->inner, rep_->hnsw);
}

bool FaissIndex::walks_graph() const { return rep_->hnsw && can_filter(); }

bool FaissIndex::exhaustive() const {
  return rep_->map && dynamic_cast<const faiss::IndexFlat*>(rep_->inner) != nullptr;
}

std::size_t FaissIndex::size() const {
  return static_cast<std::size_t>(rep_->top->ntotal) - rep_->tombstones;
}

std::size_t FaissIndex::tombstones() const { return rep_->tombstones; }

}  // namespace engram::index
