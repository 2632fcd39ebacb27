// engram/memory_interface.h — the abstract memory: what the LM and every client program use.
//
// An embedded engram::Memory and the HTTP client's RemoteMemory both implement this interface,
// so code written against it cannot tell an in-process memory from a remote one.
//
// All batch calls take row-major matrices: `queries` and `keys` have config().key_dim columns,
// `values` have config().value_dim columns. A batch is validated whole before anything happens:
// a wrong dimension, a NaN or Inf, a k outside 1..kMaxK, an unknown id all throw engram::Error
// (kInvalidArgument / kNotFound) and change nothing. k = 0 means the memory's default_k.
// search(), read(), retrieve() and write() take their per-call settings in a SearchOptions
// (engram/types.h), e.g. mem->search(q, {.k = 10, .ef = 128}); its zero fields mean the memory's
// defaults, and its filter limits the call to the slots it accepts (engram/filter.h).
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <string>
#include <vector>

#include "engram/config.h"
#include "engram/types.h"

namespace engram {

class MemoryInterface {
 public:
  virtual ~MemoryInterface() = default;

  virtual MemoryConfig config() const = 0;

  // Adds one slot per row and returns the new ids in row order. `payloads` is empty or has one
  // entry per row. The batch is applied atomically: all rows or none.
  virtual std::vector<SlotId> insert(MatrixView keys, MatrixView values,
                                     const std::vector<std::string>& payloads = {},
                                     const WriteOptions& options = {}) = 0;

  // Inserts one slot per row with the caller's own ids (`ids`, one per row, unique in the
  // batch), atomically. An id that a slot of the memory already has is kAlreadyExists (naming
  // it), and nothing is inserted. Returns the new slots' ids in row order.
  virtual std::vector<SlotId> insert(const std::vector<ExternalId>& ids, MatrixView keys, MatrixView values,
                                     const std::vector<std::string>& payloads = {},
                                     const WriteOptions& options = {}) = 0;

  // Inserts or replaces by the caller's ids, atomically: a row whose id a slot already has
  // replaces that slot's key, value and payload (the slot keeps its SlotId); the other rows are
  // inserted. Running the same upsert twice leaves one copy of each row. Returns the SlotIds
  // in row order.
  virtual std::vector<SlotId> upsert(const std::vector<ExternalId>& ids, MatrixView keys, MatrixView values,
                                     const std::vector<std::string>& payloads = {},
                                     const WriteOptions& options = {}) = 0;

  // The SlotIds of the slots with these caller's ids, in the same order; every call that takes
  // SlotIds (get, update, erase, a has_id filter) takes them through this. Throws kNotFound
  // naming the first id no slot has.
  virtual std::vector<SlotId> resolve(const std::vector<ExternalId>& ids) = 0;

  // Indexes payload field `field` ("a.b" for a nested one): a filter whose conditions all name
  // indexed fields (or ids) is decided from the index, without reading payloads — the way to
  // keep filtered calls fast on a large memory. Builds the index from the stored payloads
  // (holding writers meanwhile); no-op when the field is indexed already. The index is durable
  // and updated atomically with every payload change.
  virtual void create_payload_index(const std::string& field) = 0;
  // Throws kNotFound when the field is not indexed.
  virtual void drop_payload_index(const std::string& field) = 0;
  // The indexed fields.
  virtual std::vector<std::string> payload_indexes() = 0;

  // One page of the memory's slots in id order (ScrollOptions, ScrollPage in engram/types.h).
  virtual ScrollPage scroll(const ScrollOptions& options) = 0;

  // Softmax attention over the top-k slots: α_i = softmax(s_i/τ), r = Σ α_i v_i.
  // Uses options.k, .temperature (0: the memory's τ), .ef and .nprobe; ignores .with_payloads.
  virtual ReadResult read(MatrixView queries, const SearchOptions& options = {}) = 0;

  // The ids, scores, keys and values (and payloads if options.with_payloads) of the top-k slots.
  // Uses options.k, .ef, .nprobe, .with_payloads and .filter; ignores .temperature.
  virtual RetrieveResult retrieve(MatrixView queries, const SearchOptions& options) = 0;
  RetrieveResult retrieve(MatrixView queries, int k = 0, bool with_payloads = false);

  // Gated update of the top-k slots of each query: g_i = σ(s_i + b), v_i ← g_i·w + (1−g_i)·v_i.
  // `values` holds one w per query. Keys are unchanged. Queries are applied in row order (a
  // slot hit by two queries composes both updates), and the whole batch commits atomically.
  // The top-k are found as search() finds them with `search` (k, ef, nprobe, filter).
  virtual WriteResult write(MatrixView queries, MatrixView values, const SearchOptions& search,
                            const WriteOptions& options = {}) = 0;
  WriteResult write(MatrixView queries, MatrixView values, int k = 0, const WriteOptions& options = {});

  // The ids and scores of the top-k slots (and payloads if options.with_payloads).
  // Uses options.k, .ef, .nprobe and .with_payloads; ignores .temperature.
  virtual SearchResult search(MatrixView queries, const SearchOptions& options = {}) = 0;

  // The slots with these ids, in the same order. Throws kNotFound naming the first unknown id.
  virtual std::vector<Slot> get(const std::vector<SlotId>& ids) = 0;

  // Changes the given fields of existing slots, atomically. Unknown id: kNotFound, nothing changed.
  virtual void update(const std::vector<SlotPatch>& patches, const WriteOptions& options = {}) = 0;

  // Removes the slots, atomically. Unknown id: kNotFound, nothing changed.
  virtual void erase(const std::vector<SlotId>& ids, const WriteOptions& options = {}) = 0;

  // Removes every slot `filter` accepts (engram/filter.h), atomically, and returns how many.
  // An empty filter is kInvalidArgument (it would erase every slot).
  virtual std::size_t erase_matching(const Filter& filter, const WriteOptions& options = {}) = 0;

  virtual MemoryStats stats() = 0;

  // Single-slot conveniences over the batch calls above.
  SlotId insert_one(const std::vector<float>& key, const std::vector<float>& value,
                    const std::string& payload = {}, const WriteOptions& options = {});
  Slot get_one(SlotId id);
  void erase_one(SlotId id, const WriteOptions& options = {});
  std::uint64_t count() { return stats().slots; }
};

}  // namespace engram
