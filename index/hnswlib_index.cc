#include "index/hnswlib_index.h"

#include <hnswlib/hnswlib.h>

#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <queue>
#include <regex>
#include <thread>
#include <unordered_set>

#include "engram/error.h"
#include "index/hnswlib_filtered_search.h"  // after hnswlib.h: a template over its graph
#include "engram/types.h"
#include "index/distance_kernels.h"

namespace engram::index {
namespace {

constexpr std::size_t kInitialCapacity = 1024;

Error invalid(const std::string& msg) { return Error(ErrorCode::kInvalidArgument, msg); }

// "HNSWlib32" -> 32.
std::size_t parse_m(const std::string& factory) {
  static const std::regex form("HNSWlib([0-9]{1,3})");
  std::smatch m;
  if (!std::regex_match(factory, m, form)) throw invalid("invalid index factory string '" + factory + "'");
  const std::size_t M = std::stoul(m[1]);
  if (M < 2 || M > 256) throw invalid("HNSWlib<M> needs M in 2..256, got " + m[1].str());
  return M;
}

// "" or "efSearch=N".
std::size_t parse_ef(const std::string& params) {
  if (params.empty()) return 64;
  static const std::regex form("efSearch=([0-9]{1,6})");
  std::smatch m;
  if (!std::regex_match(params, m, form)) {
    throw invalid("invalid search parameters '" + params + "': HNSWlib takes only efSearch=N");
  }
  return std::stoul(m[1]);
}

std::size_t ef_construction_of(const IndexSpec& spec) {
  return static_cast<std::size_t>(spec.ef_construction > 0 ? spec.ef_construction : kDefaultEfConstruction);
}

using Graph = hnswlib::HierarchicalNSW<float>;

// hnswlib's own spaces pick their SIMD kernels when they are compiled (SSE in Engram's portable
// build); this one calls the kernels chosen for the CPU at run time (index/distance_kernels.h).
// Its inner-product distance is −q·k where hnswlib's InnerProductSpace has 1 − q·k: the graph
// only compares distances, and a checkpoint stores none, so graphs built with either load and
// search the same.
class KernelSpace final : public hnswlib::SpaceInterface<float> {
 public:
  KernelSpace(std::size_t dim, Metric metric)
      : dim_(dim),
        distance_(metric == Metric::kL2 ? active_kernels().l2_distance : active_kernels().ip_distance) {}
  std::size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return distance_; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  std::size_t dim_;
  hnswlib::DISTFUNC<float> distance_;
};

// hnswlib 0.6.2 saves and loads only through file paths. Engram writes and reads the same
// format itself, from and to memory, so a checkpoint is never staged in a temporary file:
//   header: offsetLevel0_ max_elements_ cur_element_count size_data_per_element_ label_offset_
//           offsetData_ maxlevel_ enterpoint_node_ maxM_ maxM0_ M_ mult_ ef_construction_
//   level 0: cur_element_count × size_data_per_element_ bytes (links, vector, label)
//   upper levels: per element, a u32 byte count (level × size_links_per_element_) and the links.
class GraphReader {
 public:
  GraphReader(const std::uint8_t* bytes, std::size_t size) : p_(bytes), end_(bytes + size) {}
  template <typename T>
  void pod(T& out) { std::memcpy(&out, take(sizeof(T)), sizeof(T)); }
  const std::uint8_t* take(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) throw corrupt("it ends early");
    const std::uint8_t* at = p_;
    p_ += n;
    return at;
  }
  bool done() const { return p_ == end_; }
  static Error corrupt(const std::string& why) {
    return Error(ErrorCode::kCorruption, "index checkpoint is not a valid HNSWlib graph: " + why);
  }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

template <typename T>
void put_pod(ByteSink& out, const T& v) { out.write(&v, sizeof(T)); }

// A loaded graph's level 0 is one large block written once, front to back: backed by 2 MiB
// pages where the kernel allows it (transparent huge pages in "madvise" mode), it takes 512×
// fewer page faults to fill (measured: the faults were a fifth of `engram search`'s time to
// open a 100k-slot memory). The block stays malloc's, which hnswlib frees and reallocs.
void advise_huge_pages(void* p, std::size_t n) {
  constexpr std::uintptr_t kPage = 4096;
  const std::uintptr_t begin = (reinterpret_cast<std::uintptr_t>(p) + kPage - 1) & ~(kPage - 1);
  const std::uintptr_t end = (reinterpret_cast<std::uintptr_t>(p) + n) & ~(kPage - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

void write_graph(const Graph& g, ByteSink& out) {
  put_pod(out, g.offsetLevel0_);
  put_pod(out, g.max_elements_);
  put_pod(out, g.cur_element_count);
  put_pod(out, g.size_data_per_element_);
  put_pod(out, g.label_offset_);
  put_pod(out, g.offsetData_);
  put_pod(out, g.maxlevel_);
  put_pod(out, g.enterpoint_node_);
  put_pod(out, g.maxM_);
  put_pod(out, g.maxM0_);
  put_pod(out, g.M_);
  put_pod(out, g.mult_);
  put_pod(out, g.ef_construction_);
  out.write(g.data_level0_memory_, g.cur_element_count * g.size_data_per_element_);
  for (std::size_t i = 0; i < g.cur_element_count; ++i) {
    const unsigned int bytes = g.element_levels_[i] > 0 ? static_cast<unsigned int>(g.size_links_per_element_ * g.element_levels_[i]) : 0;
    put_pod(out, bytes);
    if (bytes) out.write(g.linkLists_[i], bytes);
  }
}

// Fills `g`, made by the (space, capacity 1, M, efConstruction) constructor, with the graph in
// `bytes`; every size and link is checked against the header and the space first.
void read_graph(Graph& g, std::size_t data_size, const std::uint8_t* bytes, std::size_t size) {
  GraphReader in(bytes, size);
  std::size_t offset_level0, max_elements, count, per_element, label_offset, offset_data, maxM, maxM0, M, efc;
  int maxlevel;
  hnswlib::tableint entry;
  double mult;
  in.pod(offset_level0), in.pod(max_elements), in.pod(count), in.pod(per_element), in.pod(label_offset);
  in.pod(offset_data), in.pod(maxlevel), in.pod(entry), in.pod(maxM), in.pod(maxM0), in.pod(M), in.pod(mult), in.pod(efc);
  const std::size_t links0 = maxM0 * sizeof(hnswlib::tableint) + sizeof(hnswlib::linklistsizeint);
  const std::size_t links_upper = maxM * sizeof(hnswlib::tableint) + sizeof(hnswlib::linklistsizeint);
  if (offset_level0 != 0 || maxM0 == 0 || maxM0 > 20000 || maxM == 0 || maxM > 10000 || offset_data != links0 ||
      label_offset != links0 + data_size || per_element != label_offset + sizeof(hnswlib::labeltype)) {
    throw GraphReader::corrupt("its layout does not match a graph of this dimension");
  }
  if (count > (size / per_element) || (count > 0 && (entry >= count || maxlevel < 0 || maxlevel > 64))) {
    throw GraphReader::corrupt("its element count or entry point is out of range");
  }
  const std::uint8_t* level0 = in.take(count * per_element);
  // The saved capacity (room for the next inserts), unless it is beyond what growth by doubling
  // could have made of this many points.
  const std::size_t capacity = std::max<std::size_t>(
      1, max_elements >= count && max_elements <= 2 * count + kInitialCapacity ? max_elements : count);
  // Replace the constructor's one-element buffers with ones of the graph's size.
  auto* data = static_cast<char*>(std::malloc(capacity * per_element));
  if (data) advise_huge_pages(data, capacity * per_element);
  auto** links = static_cast<char**>(std::calloc(capacity, sizeof(char*)));
  if (!data || !links) {
    std::free(data), std::free(links);
    throw std::bad_alloc();
  }
  std::free(g.data_level0_memory_);
  std::free(g.linkLists_);
  g.data_level0_memory_ = data;
  g.linkLists_ = links;
  g.cur_element_count = 0;  // the destructor frees the upper levels of the elements counted
  g.element_levels_.assign(capacity, 0);
  std::vector<std::mutex>(capacity).swap(g.link_list_locks_);
  delete g.visited_list_pool_;
  g.visited_list_pool_ = new hnswlib::VisitedListPool(1, capacity);
  g.max_elements_ = capacity;
  g.offsetLevel0_ = 0, g.size_data_per_element_ = per_element, g.label_offset_ = label_offset;
  g.offsetData_ = offset_data, g.maxM_ = maxM, g.maxM0_ = maxM0, g.M_ = M, g.mult_ = mult, g.revSize_ = 1.0 / mult;
  g.size_links_level0_ = links0, g.size_links_per_element_ = links_upper;
  std::memcpy(data, level0, count * per_element);
  auto check_links = [&](const hnswlib::linklistsizeint* list, std::size_t max_links) {
    const std::size_t n = *reinterpret_cast<const unsigned short*>(list);  // hnswlib's getListCount
    if (n > max_links) throw GraphReader::corrupt("a node has more links than M allows");
    const auto* ids = reinterpret_cast<const hnswlib::tableint*>(list + 1);
    for (std::size_t j = 0; j < n; ++j) {
      if (ids[j] >= count) throw GraphReader::corrupt("a link points outside the graph");
    }
  };
  g.label_lookup_.clear();
  g.label_lookup_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    check_links(reinterpret_cast<const hnswlib::linklistsizeint*>(data + i * per_element), maxM0);
    hnswlib::labeltype label;
    std::memcpy(&label, data + i * per_element + label_offset, sizeof(label));
    g.label_lookup_[label] = static_cast<hnswlib::tableint>(i);
    unsigned int bytes_upper;
    in.pod(bytes_upper);
    if (bytes_upper % links_upper != 0 || bytes_upper / links_upper > static_cast<std::size_t>(maxlevel)) {
      throw GraphReader::corrupt("a node's upper levels do not fit the graph");
    }
    g.cur_element_count = i;  // elements 0..i-1 own their upper levels
    if (bytes_upper > 0) {
      const std::uint8_t* upper = in.take(bytes_upper);
      g.linkLists_[i] = static_cast<char*>(std::malloc(bytes_upper));
      if (!g.linkLists_[i]) throw std::bad_alloc();
      std::memcpy(g.linkLists_[i], upper, bytes_upper);
      g.element_levels_[i] = static_cast<int>(bytes_upper / links_upper);
      for (int level = 1; level <= g.element_levels_[i]; ++level) {
        check_links(reinterpret_cast<const hnswlib::linklistsizeint*>(g.linkLists_[i] + (level - 1) * links_upper), maxM);
      }
    }
    g.cur_element_count = i + 1;
  }
  if (!in.done()) throw GraphReader::corrupt("bytes follow its last node");
  g.maxlevel_ = count ? maxlevel : -1;
  g.enterpoint_node_ = count ? entry : static_cast<hnswlib::tableint>(-1);
  g.num_deleted_ = 0;
  for (std::size_t i = 0; i < count; ++i) g.num_deleted_ += g.isMarkedDeleted(static_cast<hnswlib::tableint>(i));
}

// Inserting on several threads pays off from a few hundred points; below that, one thread.
constexpr std::size_t kPointsPerInsertThread = 256;
// Threads take points in runs of this many, from a shared counter.
constexpr std::size_t kInsertRun = 32;

// hnswlib 0.6.2's searchKnn with ef as an argument. searchKnn reads the graph's ef_, which
// setEf() changes for every thread at once, so a per-call ef cannot go through it without a race
// (or a lock that would serialize searches). This is the same search — greedy descent through
// the upper levels, then a best-first search of level 0 with a candidate list of max(ef, k) —
// and touches nothing shared but what searchKnn touches (the visited-list pool, under its lock).
std::priority_queue<std::pair<float, hnswlib::labeltype>> search_knn(const Graph& g, const void* query,
                                                                     std::size_t k, std::size_t ef) {
  std::priority_queue<std::pair<float, hnswlib::labeltype>> result;
  if (g.cur_element_count == 0) return result;
  hnswlib::tableint current = g.enterpoint_node_;
  float current_dist = g.fstdistfunc_(query, g.getDataByInternalId(current), g.dist_func_param_);
  for (int level = g.maxlevel_; level > 0; level--) {
    for (bool changed = true; changed;) {
      changed = false;
      const hnswlib::linklistsizeint* list = g.get_linklist(current, level);
      const int size = g.getListCount(const_cast<hnswlib::linklistsizeint*>(list));
      const auto* links = reinterpret_cast<const hnswlib::tableint*>(list + 1);
      for (int i = 0; i < size; i++) {
        const hnswlib::tableint candidate = links[i];
        if (candidate > g.max_elements_) throw Error(ErrorCode::kInternal, "the HNSW graph links outside itself");
        const float d = g.fstdistfunc_(query, g.getDataByInternalId(candidate), g.dist_func_param_);
        if (d < current_dist) {
          current_dist = d;
          current = candidate;
          changed = true;
        }
      }
    }
  }
  const std::size_t width = std::max(ef, k);
  auto top = g.num_deleted_ ? g.searchBaseLayerST<true>(current, query, width)
                            : g.searchBaseLayerST<false>(current, query, width);
  while (top.size() > k) top.pop();
  for (; !top.empty(); top.pop()) result.emplace(top.top().first, g.getExternalLabel(top.top().second));
  return result;
}

}  // namespace

bool is_hnswlib_factory(const std::string& factory) { return factory.rfind("HNSWlib", 0) == 0; }

struct HnswlibIndex::Rep {
  std::unique_ptr<KernelSpace> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
  std::size_t ef = 64;
};

HnswlibIndex::HnswlibIndex(const IndexSpec& spec) : VectorIndex(spec), rep_(std::make_unique<Rep>()) {
  if (spec.device != "cpu") throw invalid("HNSWlib indexes run on the CPU only");
  rep_->space = std::make_unique<KernelSpace>(static_cast<std::size_t>(spec.dim), spec.metric);
  rep_->ef = parse_ef(spec.search_params);
}

HnswlibIndex::~HnswlibIndex() = default;

std::unique_ptr<HnswlibIndex> HnswlibIndex::create(const IndexSpec& spec) {
  const std::size_t M = parse_m(spec.factory);
  std::unique_ptr<HnswlibIndex> index(new HnswlibIndex(spec));
  index->rep_->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(
      index->rep_->space.get(), kInitialCapacity, M, ef_construction_of(spec));
  index->rep_->graph->setEf(index->rep_->ef);
  return index;
}

std::unique_ptr<HnswlibIndex> HnswlibIndex::deserialize(const IndexSpec& spec, const std::uint8_t* bytes,
                                                        std::size_t size) {
  const std::size_t M = parse_m(spec.factory);
  std::unique_ptr<HnswlibIndex> index(new HnswlibIndex(spec));
  index->rep_->graph = std::make_unique<Graph>(index->rep_->space.get(), 1, M, ef_construction_of(spec));
  read_graph(*index->rep_->graph, static_cast<std::size_t>(spec.dim) * sizeof(float), bytes, size);
  // The memory's efConstruction, not the file's: it is a setting of the memory.
  index->rep_->graph->ef_construction_ = ef_construction_of(spec);
  index->rep_->graph->setEf(index->rep_->ef);
  return index;
}

void HnswlibIndex::serialize_to(ByteSink& out) const { write_graph(*rep_->graph, out); }

void HnswlibIndex::add(std::size_t n, const float* x, const std::uint64_t* ids) {
  auto& g = *rep_->graph;
  if (g.cur_element_count + n > g.max_elements_) {
    g.resizeIndex(std::max(g.max_elements_ * 2, g.cur_element_count + n));
  }
  const std::size_t dim = static_cast<std::size_t>(spec_.dim);
  const std::size_t threads = insert_threads(n, ids);
  if (threads <= 1) {
    for (std::size_t i = 0; i < n; ++i) g.addPoint(x + i * dim, ids[i]);
    return;
  }
  // New points on several threads, as hnswlib's own parallel insertion does: each addPoint holds
  // its new node's lock while it locks the nodes it visits, one at a time. A node's lock is
  // wanted by others only once the node is reachable, and it becomes reachable only as its own
  // insertion links it level by level, so no two insertions can wait on each other's node: the
  // lock-order "inversions" ThreadSanitizer reports on hnswlib are orders that cannot overlap
  // in time. Plain std::threads rather than OpenMP, so the TSAN build sees every hand-over.
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mu;
  auto work = [&] {
    try {
      for (std::size_t begin; (begin = next.fetch_add(kInsertRun)) < n;) {
        for (std::size_t i = begin; i < std::min(n, begin + kInsertRun); ++i) g.addPoint(x + i * dim, ids[i]);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mu);
      if (!failure) failure = std::current_exception();
      next = n;
    }
  };
  std::vector<std::thread> helpers;
  for (std::size_t t = 1; t < threads; ++t) helpers.emplace_back(work);
  work();
  for (auto& t : helpers) t.join();
  if (failure) std::rethrow_exception(failure);
}

std::size_t HnswlibIndex::insert_threads(std::size_t n, const std::uint64_t* ids) const {
  const std::size_t wanted = std::min<std::size_t>(static_cast<std::size_t>(std::max(1, omp_get_max_threads())),
                                                   n / kPointsPerInsertThread);
  if (wanted <= 1) return 1;
  // An id already in the graph (or twice in the batch) is an update: hnswlib moves the point
  // and repairs its neighbours' links, which it does not make safe beside concurrent inserts.
  const auto& lookup = rep_->graph->label_lookup_;
  std::unordered_set<std::uint64_t> seen;
  seen.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (lookup.count(ids[i]) || !seen.insert(ids[i]).second) return 1;
  }
  return wanted;
}

void HnswlibIndex::remove(const std::vector<std::uint64_t>& ids) {
  auto& g = *rep_->graph;
  for (std::uint64_t id : ids) {
    auto it = g.label_lookup_.find(id);
    if (it == g.label_lookup_.end() || g.isMarkedDeleted(it->second)) continue;
    g.markDelete(id);
  }
}

void HnswlibIndex::search(std::size_t n, const float* x, int k, float* scores, std::uint64_t* ids,
                          const SearchTuning& tuning) const {
  const auto& g = *rep_->graph;
  const std::size_t dim = static_cast<std::size_t>(spec_.dim), kk = static_cast<std::size_t>(k);
  const std::size_t ef = tuning.ef > 0 ? static_cast<std::size_t>(tuning.ef) : rep_->ef;
#pragma omp parallel for if (n > 1) schedule(dynamic, 4)
  for (std::size_t q = 0; q < n; ++q) {
    // Searched with ef = max(ef, k), as FAISS does.
    auto found = tuning.filter ? hnswlib_filtered_knn(g, x + q * dim, kk, filtered_walk_width(ef, kk, tuning.filter_share),
                                                      *tuning.filter)
                               : search_knn(g, x + q * dim, kk, ef);
    float* s = scores + q * kk;
    std::uint64_t* out = ids + q * kk;
    for (std::size_t j = found.size(); j < kk; ++j) {
      s[j] = -std::numeric_limits<float>::infinity();
      out[j] = kNoSlot;
    }
    for (std::size_t j = found.size(); j-- > 0;) {  // the queue pops the farthest first
      const auto [dist, label] = found.top();
      found.pop();
      s[j] = -dist;  // KernelSpace's distances are −q·k and |q − k|²
      out[j] = label;
    }
  }
}

bool HnswlibIndex::reconstruct(std::size_t n, const std::uint64_t* ids, float* out, std::vector<bool>* found) const {
  const auto& g = *rep_->graph;
  const std::size_t dim = static_cast<std::size_t>(spec_.dim);
  found->assign(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const auto it = g.label_lookup_.find(static_cast<hnswlib::labeltype>(ids[i]));
    if (it == g.label_lookup_.end() || g.isMarkedDeleted(it->second)) continue;
    std::memcpy(out + i * dim, g.getDataByInternalId(it->second), dim * sizeof(float));
    (*found)[i] = true;
  }
  return true;
}

std::size_t HnswlibIndex::size() const { return rep_->graph->cur_element_count - rep_->graph->num_deleted_; }

std::size_t HnswlibIndex::tombstones() const { return rep_->graph->num_deleted_; }

}  // namespace engram::index
