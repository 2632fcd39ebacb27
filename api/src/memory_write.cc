// The write path: insert, write (gated update), update, erase. Each call validates its input,
// builds one WriteBatch and describes itself as a Change for commit_locked() (memory_commit.cc),
// under write_mu_.
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "api/src/memory_core.h"
#include "api/src/validation.h"
#include "engram/error.h"

namespace engram::detail {
namespace {

Error invalid(const std::string& msg) { return Error(ErrorCode::kInvalidArgument, msg); }

// `ids` without repeats, in first-seen order.
std::vector<SlotId> unique(const std::vector<SlotId>& ids) {
  std::vector<SlotId> out;
  std::unordered_set<SlotId> seen;
  for (SlotId id : ids) {
    if (seen.insert(id).second) out.push_back(id);
  }
  return out;
}

}  // namespace

void MemoryCore::index_add_locked(std::size_t n, const float* keys, const SlotId* ids) {
  if (index_->is_trained()) {
    index_->add(n, keys, ids);
  } else {
    maybe_train_locked();  // the keys are in the store; training indexes all of them
  }
}

std::vector<SlotId> MemoryCore::insert(const MatrixView& keys, const MatrixView& values,
                                       const std::vector<std::string>& payloads,
                                       const WriteOptions& o) {
  check_rows(keys, values, payloads, config_);
  const std::size_t n = keys.rows;
  if (n == 0) return {};
  const std::size_t key_bytes = keys.cols * sizeof(float), value_bytes = values.cols * sizeof(float);

  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  Change c;
  c.added.resize(n);
  c.added_keys = keys.data;
  storage::SlotBatch batch = store_->new_batch(entry_.id);
  for (std::size_t i = 0; i < n; ++i) {
    const SlotId id = state_.next_id + i;
    c.added[i] = id;
    batch.put_key(id, keys.row(i), key_bytes);
    batch.put_value(id, values.row(i), value_bytes);
    if (!payloads.empty() && !payloads[i].empty()) {
      batch.put_payload(id, payloads[i]);
      stage_payload(batch, c, id, nullptr, &payloads[i]);
    }
    c.cached.emplace_back(id, values.row(i));
  }
  c.created = c.added;
  c.slot_delta = static_cast<std::int64_t>(n);
  c.ids_used = n;
  commit_locked(c, batch_write(batch, resolve_sync(o)));
  return c.added;
}

WriteResult MemoryCore::write(const MatrixView& q, const MatrixView& w, const SearchOptions& search,
                              const WriteOptions& o) {
  check_matrix(q, config_.key_dim, "queries");
  check_matrix(w, config_.value_dim, "values");
  if (q.rows != w.rows) {
    throw invalid(std::to_string(q.rows) + " queries but " + std::to_string(w.rows) + " values");
  }
  const int k = resolve_k(search.k, config_);
  const index::SearchTuning tuning = resolve_tuning(search);
  const std::size_t n = q.rows, kk = static_cast<std::size_t>(k);
  const std::size_t dv = static_cast<std::size_t>(config_.value_dim);
  WriteResult r;
  r.k = kk;
  r.gates.assign(n * kk, 0.0f);
  if (n == 0) return r;

  std::lock_guard<std::mutex> wl(write_mu_);  // no other writer may touch these values meanwhile
  std::vector<float> scores, current(n * kk * dv);
  std::vector<bool> found;
  {
    std::shared_lock<RwLock> lock(index_mu_);
    check_open();
    search_locked(q, k, &scores, &r.ids, tuning, search.filter);
    fetch_values_locked(r.ids, current.data(), &found);
  }
  // v_i ← g_i·w + (1−g_i)·v_i, g_i = σ(s_i + b), applied query by query so that a slot hit by
  // several queries composes their updates in row order.
  std::unordered_map<SlotId, std::vector<float>> updated;
  std::vector<SlotId> order;
  Change c;
  for (std::size_t i = 0; i < n; ++i) {
    const float* wi = w.row(i);
    for (std::size_t j = 0; j < kk; ++j) {
      const std::size_t e = i * kk + j;
      if (!found[e]) {
        r.ids[e] = kNoSlot;
        continue;
      }
      const float g = 1.0f / (1.0f + std::exp(-(scores[e] + config_.gate_bias)));
      r.gates[e] = g;
      auto [it, fresh] = updated.try_emplace(r.ids[e]);
      if (fresh) {
        it->second.assign(current.begin() + static_cast<std::ptrdiff_t>(e * dv),
                          current.begin() + static_cast<std::ptrdiff_t>((e + 1) * dv));
        order.push_back(r.ids[e]);
        c.before.push_back({r.ids[e], std::nullopt, it->second, std::nullopt});  // for an undo
      }
      for (std::size_t d = 0; d < dv; ++d) it->second[d] = g * wi[d] + (1.0f - g) * it->second[d];
    }
  }
  if (order.empty()) return r;
  storage::SlotBatch batch = store_->new_batch(entry_.id);
  for (SlotId id : order) {
    batch.put_value(id, updated[id].data(), dv * sizeof(float));
    c.cached.emplace_back(id, updated[id].data());
  }
  commit_locked(c, batch_write(batch, resolve_sync(o)));
  return r;
}

void MemoryCore::update(const std::vector<SlotPatch>& patches, const WriteOptions& o) {
  const std::size_t dk = static_cast<std::size_t>(config_.key_dim);
  const std::size_t dv = static_cast<std::size_t>(config_.value_dim);
  std::vector<SlotId> ids;
  for (const SlotPatch& p : patches) {
    if (p.key) {
      if (p.key->size() != dk) throw invalid("key of slot " + std::to_string(p.id) + " has dimension " + std::to_string(p.key->size()) + ", the memory expects " + std::to_string(dk));
      check_finite(p.key->data(), dk, "key");
    }
    if (p.value) {
      if (p.value->size() != dv) throw invalid("value of slot " + std::to_string(p.id) + " has dimension " + std::to_string(p.value->size()) + ", the memory expects " + std::to_string(dv));
      check_finite(p.value->data(), dv, "value");
    }
    ids.push_back(p.id);
  }
  if (patches.empty()) return;

  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  bool any_key = false, any_value = false, any_payload = false;
  for (const SlotPatch& p : patches) {
    any_key |= p.key.has_value();
    any_value |= p.value.has_value();
    any_payload |= p.payload.has_value();
  }
  Change c;
  c.before = read_before(unique(ids), any_key, any_value, any_payload);  // throws kNotFound first

  storage::SlotBatch batch = store_->new_batch(entry_.id);
  std::unordered_map<SlotId, const std::vector<float>*> new_key, new_value;
  for (const SlotPatch& p : patches) {
    if (p.key) {
      batch.put_key(p.id, p.key->data(), dk * sizeof(float));
      if (new_key.insert_or_assign(p.id, &*p.key).second) c.added.push_back(p.id);
    }
    if (p.value) {
      batch.put_value(p.id, p.value->data(), dv * sizeof(float));
      new_value.insert_or_assign(p.id, &*p.value);
    }
    if (p.payload) batch.put_payload(p.id, *p.payload);
  }
  // Each slot's index entries go from its stored payload to the last one the patches give it.
  if (any_payload) {
    std::unordered_map<SlotId, const std::string*> last;
    for (const SlotPatch& p : patches)
      if (p.payload) last[p.id] = &*p.payload;
    for (const SlotPatch& b : c.before)
      if (auto it = last.find(b.id); it != last.end()) stage_payload(batch, c, b.id, &*b.payload, it->second);
  }
  // A key change is a remove then an add of the same id, as the index must replay it.
  c.removed = c.added;
  std::vector<float> keys;
  keys.reserve(c.added.size() * dk);
  for (SlotId id : c.added) keys.insert(keys.end(), new_key[id]->begin(), new_key[id]->end());
  c.added_keys = keys.data();
  for (const auto& [id, value] : new_value) c.cached.emplace_back(id, value->data());
  commit_locked(c, batch_write(batch, resolve_sync(o)));
}

void MemoryCore::erase(const std::vector<SlotId>& ids_in, const WriteOptions& o) {
  const std::vector<SlotId> ids = unique(ids_in);
  if (ids.empty()) return;

  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  erase_locked(ids, o);
}

std::size_t MemoryCore::erase_matching(const Filter& filter, const WriteOptions& o) {
  if (filter.empty()) throw invalid("erasing by filter needs a filter: {} would erase every slot");
  std::lock_guard<std::mutex> w(write_mu_);  // the matched slots stay as they are until erased
  check_open();
  std::vector<SlotId> ids;
  {
    std::shared_lock<RwLock> lock(index_mu_);
    ids = accepted_ids(match_locked(filter));
  }
  if (!ids.empty()) erase_locked(ids, o);
  return ids.size();
}

void MemoryCore::erase_locked(const std::vector<SlotId>& ids, const WriteOptions& o) {
  Change c;
  c.before = read_before(ids, true, true, true);  // throws kNotFound naming the first missing id
  storage::SlotBatch batch = store_->new_batch(entry_.id);
  for (SlotId id : ids) batch.erase_slot(id);
  for (const SlotPatch& b : c.before) stage_payload(batch, c, b.id, &*b.payload, nullptr);
  const std::vector<std::string> external = store_->external_ids_of(entry_.id, ids);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (external[i].empty()) continue;
    batch.erase_external_id(ids[i], external[i]);
    c.externals_removed.emplace_back(ids[i], external[i]);
  }
  c.removed = ids;
  c.uncached = ids;
  c.slot_delta = -static_cast<std::int64_t>(ids.size());
  commit_locked(c, batch_write(batch, resolve_sync(o)));
}

}  // namespace engram::detail
