// lm/passages.h — the passage memory: sentences (and the clauses of long ones) keyed by what
// they are about (lm/lexical_keys.h), their text in the payload, read by the model in context
// (lm/reader.h). It is an ordinary engram memory, reached only through MemoryInterface: next to
// a model's token memory NAME it is NAME.passages. No LibTorch here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engram/database.h"
#include "engram/memory_interface.h"
#include "lm/corpus.h"
#include "lm/lexical_keys.h"

namespace engram::lm {

// "facts" → "facts.passages".
std::string passage_memory_name(const std::string& memory);

// key_dim = the lexical key width, value_dim = 1 (the value is unused: 1.0), inner product over
// unit keys, an exact Flat index, no fsync per insert (rebuildable from text).
MemoryConfig passage_memory_config(int key_dim);

// Opens (or creates; dropped first when `fresh`) the passage memory `name`. Throws
// kInvalidArgument when an existing one has another key width.
std::shared_ptr<Memory> open_passage_memory(Database& db, const std::string& name, int key_dim, bool fresh);

// What a document contributes: each sentence, and each clause (split at , ; :) of at least three
// words of a sentence that has more than one — a fact inside a long sentence still gets a key of
// its own. Sentences longer than 600 bytes are skipped (not the statement of a fact).
std::vector<std::string> passage_units(const Document& doc);

// Inserts the passages (keys from `keys`, payload = the text) in batches; stops after
// max_slots passages when max_slots > 0. Returns the number inserted.
int64_t store_passages(MemoryInterface& memory, const LexicalKeys& keys,
                       const std::vector<std::string>& passages, int64_t max_slots = 0);

struct RetrievedPassage {
  std::string text;
  float score = 0;
};

// The top-k passages of each query, best first, one batched search. A clause and its sentence
// count once, as the sentence, at the better one's rank.
std::vector<std::vector<RetrievedPassage>> retrieve_passages(MemoryInterface& memory, const LexicalKeys& keys,
                                                             const std::vector<std::string>& queries, int k);

}  // namespace engram::lm
