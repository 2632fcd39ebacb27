#include "index/hnswlib_index.h"

#include <hnswlib/hnswlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <queue>
#include <regex>
#include <thread>
#include <unordered_set>

#include "engram/error.h"
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

// hnswlib 0.6.2 saves and loads only through paths: it gets the path of an anonymous file in
// RAM (memfd), so a checkpoint never goes through the disk twice. (A system without memfd gets
// a file in the temporary folder.)
struct ScratchFile {
  std::string path;
  int fd = -1;
  bool on_disk = false;
  ScratchFile() {
    fd = ::memfd_create("engram-hnswlib", MFD_CLOEXEC);
    if (fd >= 0) {
      path = "/proc/self/fd/" + std::to_string(fd);
      return;
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "engram-hnswlib-XXXXXX").string();
    fd = mkstemp(tmpl.data());
    if (fd < 0) throw Error(ErrorCode::kIOError, "cannot create a scratch file for hnswlib");
    path = tmpl;
    on_disk = true;
  }
  ~ScratchFile() {
    ::close(fd);
    if (on_disk) std::remove(path.c_str());
  }
};

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
  parse_m(spec.factory);
  std::unique_ptr<HnswlibIndex> index(new HnswlibIndex(spec));
  ScratchFile file;
  {
    std::ofstream out(file.path, std::ios::binary);
    // hnswlib 0.6.2 loads only from a path.
    out.write(reinterpret_cast<const char*>(bytes), static_cast<std::streamsize>(size));
    if (!out) throw Error(ErrorCode::kIOError, "cannot write " + file.path);
  }
  try {
    index->rep_->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(index->rep_->space.get(), file.path);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kCorruption, std::string("index checkpoint does not parse: ") + e.what());
  }
  auto& g = *index->rep_->graph;
  g.ef_construction_ = ef_construction_of(spec);  // the memory's setting, not the file's
  // hnswlib 0.6.2's loading constructor leaves num_deleted_ uninitialized before adding to it.
  g.num_deleted_ = 0;
  for (std::size_t i = 0; i < g.cur_element_count; ++i) g.num_deleted_ += g.isMarkedDeleted(static_cast<hnswlib::tableint>(i));
  if (g.data_size_ != static_cast<std::size_t>(spec.dim) * sizeof(float)) {
    throw Error(ErrorCode::kCorruption, "index checkpoint is not an HNSWlib index of dimension " + std::to_string(spec.dim));
  }
  index->rep_->graph->setEf(index->rep_->ef);
  return index;
}

void HnswlibIndex::serialize_to(ByteSink& out) const {
  ScratchFile file;
  rep_->graph->saveIndex(file.path);  // hnswlib 0.6.2 saves only to a path
  std::ifstream in(file.path, std::ios::binary);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    out.write(buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw Error(ErrorCode::kIOError, "cannot read back " + file.path);
}

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
    auto found = search_knn(g, x + q * dim, kk, ef);
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

std::size_t HnswlibIndex::size() const { return rep_->graph->cur_element_count - rep_->graph->num_deleted_; }

std::size_t HnswlibIndex::tombstones() const { return rep_->graph->num_deleted_; }

}  // namespace engram::index
