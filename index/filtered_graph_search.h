// index/filtered_graph_search.h — the best-first search of an HNSW graph's base level that
// returns only accepted nodes, shared by the FAISS HNSW and hnswlib backends.
//
// Why not filter the results of the ordinary search: that search stops once its ef best
// candidates are closer than anything left to expand, accepted or not, so a filter that accepts
// 1 % of the slots leaves about ef/100 results — fewer than k. Here (as in hnswlib 0.7's
// filtered search, and Qdrant's) every node is still walked through, but only accepted nodes
// enter the result list, and the search stops only once that list holds ef accepted nodes all
// closer than the next candidate. The walk grows as the filter narrows (about width / selectivity
// nodes), which is why a memory searches very selective filters exactly instead (the planner in
// api/src/memory_filter.cc).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <queue>
#include <utility>
#include <vector>

namespace engram::index {

// The result-list width of a filtered walk for a call's ef, when the filter accepts `share`
// (0..1] of the live nodes: max(k, ⌈ef × share⌉).
//
// Why not ef itself: the walk stops once it holds `width` accepted nodes closer than anything
// left to expand, so it searches the ball of about width / share nodes around the query — with
// width = ef, ef / share nodes, 1 / share times the ball of an unfiltered search of ef (10× the
// distances at a 10 % filter). With ef × share it searches the same ball as the unfiltered
// search of ef, so ef means the same breadth (and about the same recall) with or without a
// filter; and never fewer than k accepted nodes, which widens the ball past ef nodes when
// ef × share < k (at most k / share nodes: the planner scans the few-accepted case exactly).
inline std::size_t filtered_walk_width(std::size_t ef, std::size_t k, double share) {
  share = std::clamp(share, 0.0, 1.0);
  return std::max(k, static_cast<std::size_t>(std::ceil(static_cast<double>(ef) * share)));
}

// From `entry` (at distance `entry_distance`; smaller is closer), the up to ef accepted nodes
// nearest the query, as a max-heap by distance (top: the farthest). `graph` provides
//   void neighbors(Node v, F f)     calls f(u) for each base-level neighbour u of v
//   float distance(Node v)          the query's distance to v
//   bool first_visit(Node v)        marks v visited; false when it already was
//   bool accepted(Node v)           whether v may be a result (live and passing the filter)
template <typename Node, typename Graph>
std::priority_queue<std::pair<float, Node>> filtered_base_search(Graph& graph, Node entry, float entry_distance,
                                                                 std::size_t ef) {
  using Entry = std::pair<float, Node>;
  std::priority_queue<Entry> results;  // max-heap: the farthest accepted result on top
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> candidates;  // nearest on top
  float bound = std::numeric_limits<float>::infinity();  // the farthest result while the list is full
  graph.first_visit(entry);
  candidates.emplace(entry_distance, entry);
  if (graph.accepted(entry)) {
    results.emplace(entry_distance, entry);
    if (results.size() == ef) bound = entry_distance;
  }
  while (!candidates.empty()) {
    const auto [d, v] = candidates.top();
    if (d > bound) break;  // the list is full and nothing left to expand is closer
    candidates.pop();
    graph.neighbors(v, [&](Node u) {
      if (!graph.first_visit(u)) return;
      const float du = graph.distance(u);
      if (du >= bound) return;
      candidates.emplace(du, u);
      if (!graph.accepted(u)) return;
      results.emplace(du, u);
      if (results.size() > ef) results.pop();
      if (results.size() == ef) bound = results.top().first;
    });
  }
  return results;
}

}  // namespace engram::index
