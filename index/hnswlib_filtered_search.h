// index/hnswlib_filtered_search.h — a filtered k-NN search of an hnswlib graph.
//
// hnswlib 0.6.2 has no filter functor (0.7 added one), so this is the search of
// HierarchicalNSW::searchKnn with the filter applied inside the base-level walk
// (filtered_graph_search.h): k results come back whenever k live accepted nodes are reachable.
//
// A template over the graph type, included by hnswlib_index.cc only: hnswlib's headers define
// global variables, so exactly one translation unit may include them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <queue>
#include <utility>

#include "engram/error.h"
#include "index/filtered_graph_search.h"
#include "index/id_filter.h"

namespace engram::index {

namespace hnswlib_filtered {

// The base level of graph `g` (an hnswlib::HierarchicalNSW) as filtered_base_search() walks it,
// for one query. Holds one of the graph's visited lists (the pool locks) while it lives.
template <typename Graph>
class BaseLevel {
 public:
  using Node = unsigned int;  // hnswlib::tableint
  BaseLevel(const Graph& g, const void* query, const IdFilter& filter)
      : g_(g), query_(query), filter_(filter), visited_(g.visited_list_pool_->getFreeVisitedList()) {}
  ~BaseLevel() { g_.visited_list_pool_->releaseVisitedList(visited_); }
  BaseLevel(const BaseLevel&) = delete;
  BaseLevel& operator=(const BaseLevel&) = delete;

  template <typename F>
  void neighbors(Node v, F f) const {
    const auto* list = g_.get_linklist0(v);
    const int size = g_.getListCount(const_cast<unsigned int*>(list));
    const auto* links = reinterpret_cast<const Node*>(list + 1);
    // As hnswlib's own search does: start loading the neighbours' vectors (and visited marks)
    // before the first distance, so the cache misses of a large graph overlap.
    for (int i = 0; i < size; i++) {
      __builtin_prefetch(visited_->mass + links[i]);
      __builtin_prefetch(g_.getDataByInternalId(links[i]));
    }
    for (int i = 0; i < size; i++) f(links[i]);
  }
  float distance(Node v) const { return g_.fstdistfunc_(query_, g_.getDataByInternalId(v), g_.dist_func_param_); }
  bool first_visit(Node v) {
    if (visited_->mass[v] == visited_->curV) return false;
    visited_->mass[v] = visited_->curV;
    return true;
  }
  bool accepted(Node v) const { return !g_.isMarkedDeleted(v) && filter_.contains(g_.getExternalLabel(v)); }

 private:
  const Graph& g_;
  const void* query_;
  const IdFilter& filter_;
  decltype(g_.visited_list_pool_->getFreeVisitedList()) visited_;
};

}  // namespace hnswlib_filtered

// The k nearest live nodes of `g` whose labels `filter` accepts, with a candidate list of
// max(ef, k): a max-heap of (hnswlib distance, label), the farthest on top.
template <typename Graph>
std::priority_queue<std::pair<float, std::size_t>> hnswlib_filtered_knn(const Graph& g, const void* query,
                                                                        std::size_t k, std::size_t ef,
                                                                        const IdFilter& filter) {
  using Node = typename hnswlib_filtered::BaseLevel<Graph>::Node;
  std::priority_queue<std::pair<float, std::size_t>> result;
  if (g.cur_element_count == 0) return result;
  // The upper levels are descended greedily and unfiltered, as searchKnn does: they only choose
  // where the base-level walk starts.
  Node current = g.enterpoint_node_;
  float current_dist = g.fstdistfunc_(query, g.getDataByInternalId(current), g.dist_func_param_);
  for (int level = g.maxlevel_; level > 0; level--) {
    for (bool changed = true; changed;) {
      changed = false;
      const auto* list = g.get_linklist(current, level);
      const int size = g.getListCount(const_cast<unsigned int*>(list));
      const auto* links = reinterpret_cast<const Node*>(list + 1);
      for (int i = 0; i < size; i++) {
        if (links[i] > g.max_elements_) throw Error(ErrorCode::kInternal, "the HNSW graph links outside itself");
        const float d = g.fstdistfunc_(query, g.getDataByInternalId(links[i]), g.dist_func_param_);
        if (d < current_dist) {
          current_dist = d;
          current = links[i];
          changed = true;
        }
      }
    }
  }
  hnswlib_filtered::BaseLevel<Graph> base(g, query, filter);
  auto top = filtered_base_search<Node>(base, current, current_dist, std::max(ef, k));
  while (top.size() > k) top.pop();
  for (; !top.empty(); top.pop()) result.emplace(top.top().first, g.getExternalLabel(top.top().second));
  return result;
}

}  // namespace engram::index
