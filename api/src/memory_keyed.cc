// Slots by the caller's own ids: insert with them, upsert (insert or replace), resolve.
//
// A caller's id maps to its slot both ways in the store's external_ids family, written in the
// same batch as the slot: an upsert that replaces a slot is an update of its key, value and
// payload (it keeps its SlotId, so ids a client holds stay valid), one that inserts is an insert.
#include <unordered_map>
#include <unordered_set>

#include "api/src/external_id.h"
#include "api/src/memory_core.h"
#include "api/src/validation.h"
#include "engram/error.h"

namespace engram::detail {

std::vector<SlotId> MemoryCore::insert_keyed(const std::vector<ExternalId>& external, const MatrixView& keys,
                                             const MatrixView& values, const std::vector<std::string>& payloads,
                                             const WriteOptions& o, bool replace) {
  check_rows(keys, values, payloads, config_);
  const std::size_t n = keys.rows;
  if (external.size() != n) {
    throw Error(ErrorCode::kInvalidArgument,
                std::to_string(external.size()) + " external ids for " + std::to_string(n) + " slots");
  }
  std::vector<std::string> encoded(n);
  std::unordered_set<std::string> seen;
  for (std::size_t i = 0; i < n; ++i) {
    encoded[i] = encode_external_id(external[i]);
    if (!seen.insert(encoded[i]).second)
      throw Error(ErrorCode::kInvalidArgument, "external id " + external[i].to_string() + " appears twice in the batch");
  }
  if (n == 0) return {};
  const std::size_t key_bytes = keys.cols * sizeof(float), value_bytes = values.cols * sizeof(float);

  std::lock_guard<std::mutex> w(write_mu_);
  check_open();
  const std::vector<std::optional<std::uint64_t>> taken = store_->find_external_ids(entry_.id, encoded);
  Change c;
  std::vector<SlotId> replaced;
  for (std::size_t i = 0; i < n; ++i) {
    if (!taken[i]) continue;
    if (!replace) {
      throw Error(ErrorCode::kAlreadyExists, "external id " + external[i].to_string() + " already names slot " +
                                                 std::to_string(*taken[i]) + " of memory '" + entry_.name + "'");
    }
    replaced.push_back(*taken[i]);
  }
  c.before = read_before(replaced, true, true, true);
  // Rows in order: a replaced slot leaves the index with its old key (removed) and comes back
  // with its new one, so the added ids follow the rows and their keys are the input as it is.
  storage::SlotBatch batch = store_->new_batch(entry_.id);
  std::unordered_map<SlotId, const std::string*> stored_payload;  // of the replaced slots
  for (const SlotPatch& b : c.before) stored_payload[b.id] = &*b.payload;
  c.added.resize(n);
  c.added_keys = keys.data;
  c.removed = replaced;
  for (std::size_t i = 0; i < n; ++i) {
    const bool fresh = !taken[i];
    const SlotId id = fresh ? state_.next_id + c.created.size() : *taken[i];
    c.added[i] = id;
    batch.put_key(id, keys.row(i), key_bytes);
    batch.put_value(id, values.row(i), value_bytes);
    const std::string payload = payloads.empty() ? std::string() : payloads[i];
    if (!fresh || !payload.empty()) batch.put_payload(id, payload);  // an empty one replaces by deleting
    stage_payload(batch, c, id, fresh ? nullptr : stored_payload[id], &payload);
    c.cached.emplace_back(id, values.row(i));
    if (fresh) {
      c.created.push_back(id);
      batch.put_external_id(id, encoded[i]);
      c.externals_added.emplace_back(id, encoded[i]);
    }
  }
  c.slot_delta = static_cast<std::int64_t>(c.created.size());
  c.ids_used = c.created.size();
  commit_locked(c, batch_write(batch, resolve_sync(o)));
  return c.added;
}

std::vector<SlotId> MemoryCore::resolve(const std::vector<ExternalId>& external) const {
  std::vector<std::string> encoded;
  encoded.reserve(external.size());
  for (const ExternalId& e : external) encoded.push_back(encode_external_id(e));
  std::shared_lock<RwLock> lock(index_mu_);
  check_open();
  const auto found = store_->find_external_ids(entry_.id, encoded);
  std::vector<SlotId> ids(external.size());
  for (std::size_t i = 0; i < external.size(); ++i) {
    if (!found[i])
      throw Error(ErrorCode::kNotFound, "no slot of memory '" + entry_.name + "' has external id " + external[i].to_string());
    ids[i] = *found[i];
  }
  return ids;
}

}  // namespace engram::detail
