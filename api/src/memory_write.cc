// The write path: insert, write (gated update), update, erase. Each call is one WriteBatch,
// committed (and synced, if asked) under write_mu_ only, then applied to the index and the
// value cache under a short exclusive lock.
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
  check_matrix(keys, config_.key_dim, "keys");
  check_matrix(values, config_.value_dim, "values");
  if (keys.rows != values.rows) {
    throw invalid(std::to_string(keys.rows) + " keys but " + std::to_string(values.rows) + " values");
  }
  if (!payloads.empty() && payloads.size() != keys.rows) {
    throw invalid(std::to_string(payloads.size()) + " payloads for " + std::to_string(keys.rows) + " slots");
  }
  const std::size_t n = keys.rows;
  if (n == 0) return {};
  const std::size_t key_bytes = keys.cols * sizeof(float), value_bytes = values.cols * sizeof(float);

  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  std::vector<SlotId> ids(n);
  storage::MemoryState next = state_;
  storage::SlotBatch batch = store_->new_batch(entry_.id);
  for (std::size_t i = 0; i < n; ++i) {
    ids[i] = next.next_id++;
    batch.put_key(ids[i], keys.row(i), key_bytes);
    batch.put_value(ids[i], values.row(i), value_bytes);
    if (!payloads.empty() && !payloads[i].empty()) batch.put_payload(ids[i], payloads[i]);
  }
  next.slots += n;
  next.op_seq += 1;
  batch.log_index_op({next.op_seq, storage::IndexOp::kAdd, ids});
  batch.set_state(next);
  store_->commit(batch, resolve_sync(o));
  {
    std::unique_lock<RwLock> lock(index_mu_);
    state_ = next;
    index_add_locked(n, keys.data, ids.data());
    if (config_.cache_values) {
      for (std::size_t i = 0; i < n; ++i) cache_.put(ids[i], values.row(i));
    }
  }
  maybe_auto_checkpoint_locked(n);
  return ids;
}

WriteResult MemoryCore::write(const MatrixView& q, const MatrixView& w, int k_in,
                              const WriteOptions& o) {
  check_matrix(q, config_.key_dim, "queries");
  check_matrix(w, config_.value_dim, "values");
  if (q.rows != w.rows) {
    throw invalid(std::to_string(q.rows) + " queries but " + std::to_string(w.rows) + " values");
  }
  const int k = resolve_k(k_in, config_);
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
    search_locked(q, k, &scores, &r.ids);
    fetch_values_locked(r.ids, current.data(), &found);
  }
  // v_i ← g_i·w + (1−g_i)·v_i, g_i = σ(s_i + b), applied query by query so that a slot hit by
  // several queries composes their updates in row order.
  std::unordered_map<SlotId, std::vector<float>> updated;
  std::vector<SlotId> order;
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
      }
      for (std::size_t d = 0; d < dv; ++d) it->second[d] = g * wi[d] + (1.0f - g) * it->second[d];
    }
  }
  if (order.empty()) return r;
  storage::SlotBatch batch = store_->new_batch(entry_.id);
  for (SlotId id : order) batch.put_value(id, updated[id].data(), dv * sizeof(float));
  store_->commit(batch, resolve_sync(o));
  if (config_.cache_values) {
    std::unique_lock<RwLock> lock(index_mu_);
    for (SlotId id : order) cache_.put(id, updated[id].data());
  }
  return r;
}

namespace {

// Throws kNotFound naming the first id of `ids` that the store does not hold.
void require_present(const storage::SlotStore& store, storage::MemoryId memory,
                     const std::vector<SlotId>& ids, std::size_t key_dim, const std::string& name) {
  std::vector<float> scratch(ids.size() * key_dim);
  std::vector<bool> found;
  store.multi_get_keys(memory, ids, scratch.data(), key_dim, &found);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!found[i]) {
      throw Error(ErrorCode::kNotFound,
                  "slot " + std::to_string(ids[i]) + " not found in memory '" + name + "'");
    }
  }
}

}  // namespace

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
  require_present(*store_, entry_.id, ids, dk, entry_.name);

  storage::MemoryState next = state_;
  storage::SlotBatch batch = store_->new_batch(entry_.id);
  std::vector<SlotId> rekeyed;                       // ids whose key changes, once each
  std::unordered_map<SlotId, const std::vector<float>*> new_key, new_value;
  for (const SlotPatch& p : patches) {
    if (p.key) {
      batch.put_key(p.id, p.key->data(), dk * sizeof(float));
      if (new_key.insert_or_assign(p.id, &*p.key).second) rekeyed.push_back(p.id);
    }
    if (p.value) {
      batch.put_value(p.id, p.value->data(), dv * sizeof(float));
      new_value.insert_or_assign(p.id, &*p.value);
    }
    if (p.payload) batch.put_payload(p.id, *p.payload);
  }
  if (!rekeyed.empty()) {
    // A key change is a remove then an add of the same id, as the index must replay it.
    batch.log_index_op({++next.op_seq, storage::IndexOp::kRemove, rekeyed});
    batch.log_index_op({++next.op_seq, storage::IndexOp::kAdd, rekeyed});
    batch.set_state(next);
  }
  store_->commit(batch, resolve_sync(o));

  std::unique_lock<RwLock> lock(index_mu_);
  state_ = next;
  if (!rekeyed.empty() && index_->is_trained()) {
    index_->remove(rekeyed);
    std::vector<float> keys;
    keys.reserve(rekeyed.size() * dk);
    for (SlotId id : rekeyed) keys.insert(keys.end(), new_key[id]->begin(), new_key[id]->end());
    index_->add(rekeyed.size(), keys.data(), rekeyed.data());
  }
  if (config_.cache_values) {
    for (const auto& [id, value] : new_value) cache_.put(id, value->data());
  }
}

void MemoryCore::erase(const std::vector<SlotId>& ids_in, const WriteOptions& o) {
  std::vector<SlotId> ids;
  std::unordered_set<SlotId> seen;
  for (SlotId id : ids_in) {
    if (seen.insert(id).second) ids.push_back(id);
  }
  if (ids.empty()) return;

  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  require_present(*store_, entry_.id, ids, static_cast<std::size_t>(config_.key_dim), entry_.name);
  storage::MemoryState next = state_;
  storage::SlotBatch batch = store_->new_batch(entry_.id);
  for (SlotId id : ids) batch.erase_slot(id);
  next.slots -= ids.size();
  next.op_seq += 1;
  batch.log_index_op({next.op_seq, storage::IndexOp::kRemove, ids});
  batch.set_state(next);
  store_->commit(batch, resolve_sync(o));
  {
    std::unique_lock<RwLock> lock(index_mu_);
    state_ = next;
    if (index_->is_trained()) index_->remove(ids);
    if (config_.cache_values) {
      for (SlotId id : ids) cache_.erase(id);
    }
  }
  maybe_auto_checkpoint_locked(ids.size());
}

}  // namespace engram::detail
