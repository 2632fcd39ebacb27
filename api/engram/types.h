// engram/types.h — value types shared by every memory operation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "engram/filter.h"

namespace engram {

// A slot's id: assigned by the memory at insert time, never reused.
using SlotId = std::uint64_t;

// Fills result positions for which fewer than k slots exist.
constexpr SlotId kNoSlot = std::numeric_limits<SlotId>::max();

// A slot's id of the caller's own choosing — a document's key, a row's primary key — unique
// within a memory: an unsigned integer or a string of 1..kMaxExternalIdBytes bytes. 7 and "7"
// are different ids. Slots inserted with one can be found, replaced (upsert) and erased by it.
class ExternalId {
 public:
  ExternalId(std::uint64_t number) : number_(number) {}  // NOLINT: ids convert implicitly
  ExternalId(std::string text) : text_(std::move(text)), is_text_(true) {}  // NOLINT
  ExternalId(const char* text) : ExternalId(std::string(text)) {}  // NOLINT

  bool is_number() const { return !is_text_; }
  std::uint64_t number() const { return number_; }  // REQUIRES: is_number()
  const std::string& text() const { return text_; } // REQUIRES: !is_number()
  // For messages: 7, or "doc-7" with its quotes.
  std::string to_string() const;

  bool operator==(const ExternalId& o) const {
    return is_text_ == o.is_text_ && (is_text_ ? text_ == o.text_ : number_ == o.number_);
  }
  bool operator!=(const ExternalId& o) const { return !(*this == o); }

 private:
  std::uint64_t number_ = 0;
  std::string text_;
  bool is_text_ = false;
};

constexpr std::size_t kMaxExternalIdBytes = 512;

// A read-only view of a row-major float matrix: `rows` vectors of `cols` floats each.
// The caller keeps `data` alive for the duration of the call.
struct MatrixView {
  const float* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;

  MatrixView() = default;
  MatrixView(const float* d, std::size_t r, std::size_t c) : data(d), rows(r), cols(c) {}
  // A view of `v` as rows of `cols` floats. REQUIRES: v.size() % cols == 0 (else kInvalidArgument).
  MatrixView(const std::vector<float>& v, std::size_t cols);

  const float* row(std::size_t i) const { return data + i * cols; }
};

// Per-call durability. `sync` unset means: use the memory's configured default.
struct WriteOptions {
  // true: the call returns only after the change is on stable storage (fsync of the WAL);
  // it then survives a machine crash. false: it survives a process crash (kill -9) only.
  std::optional<bool> sync;
};

// Per-call settings of search(), read(), retrieve() and the search of write(). Every field left 0 (false) means: the memory's
// configured default. In C++20 (or with GCC/Clang's extension in C++17):
//   mem->search(q, {.k = 10, .ef = 128});   mem->read(q, {.k = 32, .nprobe = 8});
// ef and nprobe tune an approximate index for this call only, without changing the memory: a
// larger value examines more candidates (higher recall, slower search). An index type that does
// not have the knob ignores it (ef on a Flat or IVF-Flat memory, nprobe on an HNSW memory).
struct SearchOptions {
  int k = 0;                   // results per query; 0: the memory's default_k. REQUIRES: 0..kMaxK
  float temperature = 0;       // read() only: τ of α = softmax(s/τ); 0: the memory's. REQUIRES: ≥ 0
  int ef = 0;                  // HNSW graphs (HNSW<M>, HNSWlib<M>, an IVF's HNSW quantizer): efSearch,
                               // the candidate list of a query (at least k is used). REQUIRES: 0..kMaxEf
  int nprobe = 0;              // IVF indexes: inverted lists scanned per query. REQUIRES: 0..kMaxNprobe
  bool with_payloads = false;  // search() and retrieve(): also return each result's payload
  // Only slots that satisfy it are candidates (engram/filter.h): k results come back whenever
  // k slots match. Empty: every slot.
  Filter filter;
};

// read(): one row per query; every per-query array holds k entries, padded with kNoSlot / 0.
struct ReadResult {
  std::size_t k = 0;              // entries per query
  std::size_t value_dim = 0;      // floats per read vector
  std::vector<float> reads;       // rows × value_dim: r = Σ α_i v_i
  std::vector<SlotId> ids;        // rows × k, best first
  std::vector<float> weights;     // rows × k: α_i, summing to 1 over the real entries
};

// search(): ids and scores (higher is closer: q·k for inner product, −|q−k|² for L2).
struct SearchResult {
  std::size_t k = 0;
  std::vector<SlotId> ids;                // rows × k, best first
  std::vector<float> scores;              // rows × k
  std::vector<std::string> payloads;      // rows × k when requested, else empty
};

// retrieve(): everything the LM needs to compute its own attention over the top-k slots.
struct RetrieveResult {
  std::size_t k = 0;
  std::size_t key_dim = 0;
  std::size_t value_dim = 0;
  std::vector<SlotId> ids;                // rows × k
  std::vector<float> scores;              // rows × k
  std::vector<float> keys;                // rows × k × key_dim (zeros where the id is kNoSlot)
  std::vector<float> values;              // rows × k × value_dim (zeros where the id is kNoSlot)
  std::vector<std::string> payloads;      // rows × k when requested, else empty
};

// write(): the slots whose values each query updated, and their gates g_i = σ(s_i + b).
struct WriteResult {
  std::size_t k = 0;
  std::vector<SlotId> ids;     // rows × k
  std::vector<float> gates;    // rows × k
};

// A whole slot, as get() returns it.
struct Slot {
  SlotId id = kNoSlot;
  std::vector<float> key;     // empty in a scroll() page that did not ask for keys
  std::vector<float> value;   // empty in a scroll() page that did not ask for values
  std::string payload;
  std::optional<ExternalId> external_id;  // the caller's id, when it was inserted with one
};

// scroll(): one page of a walk through a memory's slots in id order.
struct ScrollOptions {
  std::size_t limit = 100;   // slots per page. REQUIRES: 1..kMaxScrollLimit
  // Where the page starts: "" for the first page, else the next_cursor of the page before.
  std::string cursor;
  Filter filter;             // only the slots it accepts (engram/filter.h); empty: every slot
  bool with_keys = false;    // also return each slot's key ...
  bool with_values = false;  // ... and value
};

constexpr std::size_t kMaxScrollLimit = 10000;

struct ScrollPage {
  std::vector<Slot> slots;   // ascending ids
  // Pass it back as ScrollOptions::cursor for the next page; "" once the walk is done. A walk
  // sees every slot that exists from its start to its end exactly once, whatever is written
  // meanwhile (slots inserted or erased during it may or may not be seen). With a filter, a
  // page may hold fewer than `limit` slots before the end (it stops after scanning a bounded
  // number of slots): only an empty next_cursor ends the walk.
  std::string next_cursor;
};

// A change to one slot for update(): fields left unset keep their stored value.
struct SlotPatch {
  SlotId id = kNoSlot;
  std::optional<std::vector<float>> key;
  std::optional<std::vector<float>> value;
  std::optional<std::string> payload;
};

struct MemoryStats {
  std::uint64_t slots = 0;             // live slots in the store
  std::uint64_t indexed = 0;           // live slots in the index (equals slots unless untrained)
  std::uint64_t tombstones = 0;        // erased entries the index still holds (HNSW); compact() clears them
  bool trained = true;                 // false while a trained index (IVF, PQ) waits for data
  std::uint64_t next_id = 0;
  std::uint64_t op_seq = 0;            // position of the last committed change
  std::uint64_t checkpoint_op_seq = 0; // position the index checkpoint on disk reflects
  std::uint64_t index_bytes = 0;       // size of the index checkpoint on disk (0: none written yet)
  double checkpoint_age_s = 0;         // seconds since the checkpoint was last written (or the memory opened)
  std::uint64_t store_bytes = 0;       // about how much its records take in RocksDB (files + memtables)
};

}  // namespace engram
