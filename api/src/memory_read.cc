// The read path: read, search, retrieve, get. Readers hold the index lock shared and never
// wait for a writer's sync.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "api/src/external_id.h"
#include "api/src/memory_core.h"
#include "api/src/validation.h"
#include "engram/error.h"

namespace engram::detail {

void MemoryCore::search_locked(const MatrixView& q, int k, std::vector<float>* scores,
                               std::vector<SlotId>* ids, const index::SearchTuning& tuning,
                               const Filter& filter) const {
  check_searchable();
  if (!filter.empty()) return filtered_search_locked(q, k, scores, ids, tuning, filter);
  scores->resize(q.rows * static_cast<std::size_t>(k));
  ids->resize(q.rows * static_cast<std::size_t>(k));
  index_->search(q.rows, q.data, k, scores->data(), ids->data(), tuning);
}

void MemoryCore::fetch_values_locked(const std::vector<SlotId>& ids, float* out,
                                     std::vector<bool>* found) const {
  const std::size_t dv = static_cast<std::size_t>(config_.value_dim);
  if (!config_.cache_values) {
    store_->multi_get_values(entry_.id, ids, out, dv, found);
    return;
  }
  start_value_cache_loader();
  found->assign(ids.size(), false);
  std::vector<std::size_t> missing;  // positions to read from the store while the cache fills
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == kNoSlot) continue;
    if (const float* v = cache_.find(ids[i])) {
      std::memcpy(out + i * dv, v, dv * sizeof(float));
      (*found)[i] = true;
    } else if (!cache_complete_) {
      missing.push_back(i);
    }
  }
  if (missing.empty()) return;
  std::vector<SlotId> missing_ids;
  for (std::size_t i : missing) missing_ids.push_back(ids[i]);
  std::vector<float> fetched(missing.size() * dv);
  std::vector<bool> fetched_found;
  store_->multi_get_values(entry_.id, missing_ids, fetched.data(), dv, &fetched_found);
  for (std::size_t j = 0; j < missing.size(); ++j) {
    if (!fetched_found[j]) continue;
    std::memcpy(out + missing[j] * dv, fetched.data() + j * dv, dv * sizeof(float));
    (*found)[missing[j]] = true;
  }
}

ReadResult MemoryCore::read(const MatrixView& q, const SearchOptions& options) const {
  check_matrix(q, config_.key_dim, "queries");
  const int k = resolve_k(options.k, config_);
  const index::SearchTuning tuning = resolve_tuning(options);
  float temperature = options.temperature;
  if (temperature == 0) temperature = config_.temperature;
  if (!(temperature > 0) || !std::isfinite(temperature)) {
    throw Error(ErrorCode::kInvalidArgument, "temperature must be a finite number > 0");
  }
  const std::size_t n = q.rows, kk = static_cast<std::size_t>(k);
  const std::size_t dv = static_cast<std::size_t>(config_.value_dim);

  ReadResult r;
  r.k = kk;
  r.value_dim = dv;
  r.reads.assign(n * dv, 0.0f);
  r.weights.assign(n * kk, 0.0f);
  std::vector<float> scores;
  std::vector<float> values(n * kk * dv);
  std::vector<bool> found;
  {
    std::shared_lock<RwLock> lock(index_mu_);
    check_open();
    search_locked(q, k, &scores, &r.ids, tuning, options.filter);
    fetch_values_locked(r.ids, values.data(), &found);
  }
  for (std::size_t i = 0; i < n; ++i) {
    // α = softmax(s/τ) over the slots found; subtract the max for stability.
    float best = -INFINITY;
    for (std::size_t j = 0; j < kk; ++j) {
      const std::size_t e = i * kk + j;
      if (!found[e]) r.ids[e] = kNoSlot;
      else best = std::max(best, scores[e] / temperature);
    }
    if (best == -INFINITY) continue;  // empty memory: zero read, no ids
    double sum = 0;
    for (std::size_t j = 0; j < kk; ++j) {
      const std::size_t e = i * kk + j;
      if (r.ids[e] == kNoSlot) continue;
      const double w = std::exp(static_cast<double>(scores[e] / temperature - best));
      r.weights[e] = static_cast<float>(w);
      sum += w;
    }
    float* out = r.reads.data() + i * dv;
    for (std::size_t j = 0; j < kk; ++j) {
      const std::size_t e = i * kk + j;
      if (r.ids[e] == kNoSlot) continue;
      r.weights[e] = static_cast<float>(r.weights[e] / sum);
      const float a = r.weights[e];
      const float* v = values.data() + e * dv;
      for (std::size_t d = 0; d < dv; ++d) out[d] += a * v[d];
    }
  }
  return r;
}

SearchResult MemoryCore::search(const MatrixView& q, const SearchOptions& options) const {
  check_matrix(q, config_.key_dim, "queries");
  const int k = resolve_k(options.k, config_);
  const index::SearchTuning tuning = resolve_tuning(options);
  SearchResult r;
  r.k = static_cast<std::size_t>(k);
  {
    std::shared_lock<RwLock> lock(index_mu_);
    check_open();
    search_locked(q, k, &r.scores, &r.ids, tuning, options.filter);
    if (options.with_payloads) r.payloads = store_->multi_get_payloads(entry_.id, r.ids);
  }
  return r;
}

RetrieveResult MemoryCore::retrieve(const MatrixView& q, const SearchOptions& options) const {
  check_matrix(q, config_.key_dim, "queries");
  const int k = resolve_k(options.k, config_);
  const index::SearchTuning tuning = resolve_tuning(options);
  const bool with_payloads = options.with_payloads;
  const std::size_t n = q.rows, kk = static_cast<std::size_t>(k);
  RetrieveResult r;
  r.k = kk;
  r.key_dim = static_cast<std::size_t>(config_.key_dim);
  r.value_dim = static_cast<std::size_t>(config_.value_dim);
  r.keys.assign(n * kk * r.key_dim, 0.0f);
  r.values.assign(n * kk * r.value_dim, 0.0f);
  std::vector<bool> have_key, have_value;
  {
    std::shared_lock<RwLock> lock(index_mu_);
    check_open();
    search_locked(q, k, &r.scores, &r.ids, tuning, options.filter);
    // Keys come from the index when it holds them exactly (Flat, HNSW over Flat: a copy from
    // RAM), else from the store: a compressed index (PQ) cannot give them back.
    if (!index_->reconstruct(r.ids.size(), r.ids.data(), r.keys.data(), &have_key))
      store_->multi_get_keys(entry_.id, r.ids, r.keys.data(), r.key_dim, &have_key);
    fetch_values_locked(r.ids, r.values.data(), &have_value);
    if (with_payloads) r.payloads = store_->multi_get_payloads(entry_.id, r.ids);
  }
  for (std::size_t e = 0; e < n * kk; ++e) {
    if (!have_key[e] || !have_value[e]) {  // not in the store: never expected (memory_core.h), skipped
      r.ids[e] = kNoSlot;
      r.scores[e] = -INFINITY;
      std::fill_n(r.keys.begin() + static_cast<std::ptrdiff_t>(e * r.key_dim), r.key_dim, 0.0f);
      std::fill_n(r.values.begin() + static_cast<std::ptrdiff_t>(e * r.value_dim), r.value_dim, 0.0f);
    }
  }
  return r;
}

std::vector<Slot> MemoryCore::get(const std::vector<SlotId>& ids) const {
  std::shared_lock<RwLock> lock(index_mu_);
  check_open();
  return fetch_slots_locked(ids, true, true, /*skip_missing=*/false);
}

std::vector<Slot> MemoryCore::fetch_slots_locked(const std::vector<SlotId>& ids, bool with_keys, bool with_values,
                                                 bool skip_missing) const {
  const std::size_t n = ids.size();
  const std::size_t dk = static_cast<std::size_t>(config_.key_dim);
  const std::size_t dv = static_cast<std::size_t>(config_.value_dim);
  // The keys family proves a slot exists (its key is read into a scratch row when not asked).
  std::vector<float> keys(n * dk), values(with_values ? n * dv : 0);
  std::vector<bool> have_key, have_value(n, true);
  store_->multi_get_keys(entry_.id, ids, keys.data(), dk, &have_key);
  if (with_values) store_->multi_get_values(entry_.id, ids, values.data(), dv, &have_value);
  std::vector<std::string> payloads = store_->multi_get_payloads(entry_.id, ids);
  const std::vector<std::string> external = store_->external_ids_of(entry_.id, ids);
  std::vector<Slot> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (!have_key[i] || !have_value[i]) {
      if (skip_missing) continue;
      throw Error(ErrorCode::kNotFound,
                  "slot " + std::to_string(ids[i]) + " not found in memory '" + entry_.name + "'");
    }
    Slot& s = out.emplace_back();
    s.id = ids[i];
    if (with_keys)
      s.key.assign(keys.begin() + static_cast<std::ptrdiff_t>(i * dk), keys.begin() + static_cast<std::ptrdiff_t>((i + 1) * dk));
    if (with_values)
      s.value.assign(values.begin() + static_cast<std::ptrdiff_t>(i * dv),
                     values.begin() + static_cast<std::ptrdiff_t>((i + 1) * dv));
    s.payload = std::move(payloads[i]);
    if (!external[i].empty()) s.external_id = decode_external_id(external[i]);
  }
  return out;
}

std::vector<SlotId> MemoryCore::list_ids() const {
  std::vector<SlotId> ids;
  std::shared_lock<RwLock> lock(index_mu_);
  check_open();
  store_->scan_ids(entry_.id, [&](std::uint64_t id) { ids.push_back(id); });
  return ids;
}

}  // namespace engram::detail
