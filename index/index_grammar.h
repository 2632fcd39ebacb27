// index/index_grammar.h — the index strings Engram accepts, with a bound on every parameter.
//
// FAISS's index_factory accepts strings that build indexes which crash the process later
// ("HNSW0": SIGSEGV on the second add; "NSG32,Flat": SIGFPE on a small add), exhaust memory
// ("HNSW1": 17 GB for three vectors) or never work ("IVF0,Flat": every search asserts). A
// server cannot catch a SIGSEGV, and a memory whose index crashes on replay crashes every
// restart, so the strings are checked here, before FAISS or hnswlib sees them, against a
// grammar of what Engram supports (docs/indexes.md lists it):
//
//   index     := "HNSWlib" M                              (the hnswlib backend)
//              | [transform ","]* main
//   transform := "PCA" ["R"|"W"|"WR"] d  |  "OPQ" m ["_" d]  |  "RR" d  |  "L2norm"
//   main      := "Flat" | sq | pq
//              | "HNSW" M ["_Flat" | "_" sq | "_" pq]
//              | "IVF" n ["_HNSW" M] "," ("Flat" | sq | pq)
//   sq        := "SQ4" | "SQ6" | "SQ8" | "SQfp16"
//   pq        := "PQ" m ["x" bits]
//
// Bounds: M in 2..256, n (IVF lists) in 1..262144, bits in 1..10, a PQ/OPQ m dividing the
// dimension it codes, transform outputs in 1..the input dimension (RR: 1..65536).
// Search parameters: "" or comma-separated "efSearch=1..65536" (HNSW), "nprobe=1..n" (IVF).
#pragma once

#include <string>

#include "index/vector_index.h"

namespace engram::index {

// Throws kInvalidArgument naming the offending part when `spec` (factory string, search
// parameters, dimension) is outside the grammar above. Cheap: no index is built.
void check_index_spec(const IndexSpec& spec);

}  // namespace engram::index
