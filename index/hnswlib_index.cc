#include "index/hnswlib_index.h"

#include <hnswlib/hnswlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <queue>
#include <regex>

#include "engram/error.h"
#include "index/hnswlib_filtered_search.h"  // after hnswlib.h: a template over its graph
#include "engram/types.h"

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
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
  std::size_t ef = 64;
};

HnswlibIndex::HnswlibIndex(const IndexSpec& spec) : VectorIndex(spec), rep_(std::make_unique<Rep>()) {
  if (spec.device != "cpu") throw invalid("HNSWlib indexes run on the CPU only");
  const std::size_t dim = static_cast<std::size_t>(spec.dim);
  if (spec.metric == Metric::kL2) {
    rep_->space = std::make_unique<hnswlib::L2Space>(dim);
  } else {
    rep_->space = std::make_unique<hnswlib::InnerProductSpace>(dim);
  }
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
  // One thread: hnswlib 0.6.2's parallel insertion holds the new node's lock while it locks
  // others in graph order, and ThreadSanitizer reports the resulting lock-order inversions as
  // potential deadlocks; we do not ship a possible deadlock for a faster build.
  for (std::size_t i = 0; i < n; ++i) g.addPoint(x + i * dim, ids[i]);
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
  const bool ip = spec_.metric == Metric::kInnerProduct;
#pragma omp parallel for if (n > 1) schedule(dynamic, 4)
  for (std::size_t q = 0; q < n; ++q) {
    // Searched with ef = max(ef, k), as FAISS does.
    auto found = tuning.filter ? hnswlib_filtered_knn(g, x + q * dim, kk, ef, *tuning.filter)
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
      s[j] = ip ? 1.0f - dist : -dist;  // InnerProductSpace's distance is 1 − q·k
      out[j] = label;
    }
  }
}

std::size_t HnswlibIndex::size() const { return rep_->graph->cur_element_count - rep_->graph->num_deleted_; }

std::size_t HnswlibIndex::tombstones() const { return rep_->graph->num_deleted_; }

}  // namespace engram::index
