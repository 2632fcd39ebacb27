// engram/config.h — the persisted configuration of a memory, and database options.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace engram {

enum class Metric {
  kInnerProduct,  // s_i = q·k_i
  kL2,            // s_i = −|q − k_i|²
};

// "ip" / "l2".
const char* metric_name(Metric m);
// Parses "ip" / "l2" (also "inner_product"); throws kInvalidArgument otherwise.
Metric parse_metric(const std::string& name);

// The largest k any operation accepts.
constexpr int kMaxK = 4096;
// The largest per-call efSearch and nprobe (SearchOptions) a search accepts.
constexpr int kMaxEf = 65536;
constexpr int kMaxNprobe = 65536;

// A memory's configuration. It is stored with the memory at creation; reopening needs none of it.
struct MemoryConfig {
  int key_dim = 0;    // REQUIRES: 1..65536
  int value_dim = 0;  // REQUIRES: 1..65536
  Metric metric = Metric::kInnerProduct;

  // A FAISS index factory string: "Flat", "HNSW32", "IVF1024,Flat", "IVF1024,PQ16", ...
  // Exact search needs "Flat". Trained types (IVF, PQ) hold inserts in the store and train
  // automatically once enough slots exist (or on Memory::train()); until then search fails with
  // kFailedPrecondition.
  std::string index = "Flat";

  // Search-time knobs in FAISS ParameterSpace syntax, e.g. "efSearch=64" or "nprobe=32".
  // Empty: Engram's defaults (efSearch=64 for HNSW, nprobe=16 for IVF).
  std::string search_params;

  // HNSW graphs (HNSW<M>, HNSWlib<M>): candidates examined when a slot is linked into the graph
  // (efConstruction). Higher builds a better graph — fewer candidates needed per search for the
  // same recall — at a higher insertion cost. 0: Engram's default, 200 (bench/README.md shows
  // why). Other index types REQUIRE 0. REQUIRES: 0..65536
  int ef_construction = 0;

  int default_k = 32;           // k used when a call passes k = 0. REQUIRES: 1..kMaxK
  float temperature = 1.0f;     // τ of read(): α = softmax(s/τ). REQUIRES: > 0
  float gate_bias = 0.0f;       // b of write(): g_i = σ(s_i + b)

  // Default durability of mutations (overridable per call through WriteOptions::sync).
  bool sync = true;

  // Keep a copy of every value in RAM so that read() does no store lookups. Costs
  // value_dim × 4 bytes a slot; the store stays the source of truth.
  bool cache_values = true;

  // "cpu", or "gpu" (needs a build with ENGRAM_WITH_GPU and a FAISS with GPU support; Flat and
  // IVF indexes only).
  std::string device = "cpu";
};

// Throws kInvalidArgument naming the first field that is out of range.
void validate(const MemoryConfig& config);

// The JSON form of a config, as stored with the memory and as the HTTP API speaks it:
// {"key_dim":128,"value_dim":128,"metric":"ip","index":"HNSW32","search_params":"",
//  "default_k":32,"temperature":1,"gate_bias":0,"sync":true,"cache_values":true,"device":"cpu"}
std::string config_to_json(const MemoryConfig& config);
// Parses (and validates) that form; absent fields keep their defaults, key_dim and value_dim are
// required. Throws kInvalidArgument for malformed JSON, unknown fields or wrong types.
MemoryConfig config_from_json(const std::string& json);

struct DatabaseOptions {
  // Create the folder (and the database in it) when it does not exist or is empty.
  bool create_if_missing = true;
  // Size of RocksDB's block cache in bytes (shared by all memories of the database).
  std::size_t block_cache_bytes = 256u << 20;
  // Writes are refused (kNoSpace) while the disk holding the database has less free space than
  // this, and the database opens read-only when it starts with less: a full disk costs writes,
  // never the process or acknowledged data. The margin covers the store's own flushes.
  std::uint64_t min_free_disk_bytes = 256u << 20;
  // Background checkpoints bound what a memory replays from its op log when it is opened after
  // a crash (a kill -9, a power cut): a thread of the database writes a memory's index
  // checkpoint once `checkpoint_every_ops` op-log records or `checkpoint_every_slots` changed
  // slots are past its last one, or `checkpoint_interval_s` seconds have passed with any change
  // past it. 0 turns a trigger off; all three 0 leaves checkpoints to close and
  // Memory::checkpoint(). A checkpoint holds the memory's writers (not its readers) while the
  // index streams to disk, so background ones are spaced by at least ten times the last one's
  // duration (they take at most a tenth of the time). Opening a memory counts the ops it
  // replayed: after a crash with many of them, the next checkpoint follows within a second.
  std::size_t checkpoint_every_ops = 1000;
  std::size_t checkpoint_every_slots = 100000;
  double checkpoint_interval_s = 300;
  // Open an existing database for reading only: nothing is written — no log, no checkpoint, no
  // file of the store's own — and every write throws kFailedPrecondition. It excludes writers as
  // an ordinary open does (kBusy while another process has the folder open for writing, and the
  // other way round). Opening costs less: the `engram` commands that only read use it.
  bool read_only = false;
  // A filtered search (SearchOptions::filter) whose filter accepts at most this many slots — or
  // a small enough share of the memory: under 0.5 %, or where the index holds the keys in RAM
  // (HNSW graphs) while accepted² < 1024 × slots (under 3.2 % at 1M slots) — scans the accepted
  // slots' keys exactly instead of walking the index with the filter: a graph walk grows as the
  // filter narrows, an exact scan shrinks. 0 keeps filtered searches in the index whenever it
  // can apply a filter (the tests use it).
  std::size_t filter_exact_scan_max = 2048;
};

}  // namespace engram
