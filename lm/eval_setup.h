// lm/eval_setup.h — what `eval` and `tune-readout` both build before they measure: a scratch
// database, the text corpus in the model's token memory (kNN-LM setting, and distractors), and
// the prose sentences that facts are mixed into. LibTorch-free interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engram/database.h"
#include "lm/corpus.h"

namespace engram::lm {

class LanguageModel;

struct CorpusMemoryOptions {
  std::vector<std::string> text;   // corpus files (may be empty: an empty memory)
  int64_t max_slots = 100000;      // slots of corpus text at most
  bool packed = true;              // block_size segments, as the LM reads text (else by sentence)
  std::string db_dir;              // empty: a temporary folder, removed with the object
  std::string memory = "eval";     // the token memory's name
  bool progress = true;
};

struct CorpusMemory {
  ~CorpusMemory();  // closes the database; removes it when it was temporary
  std::string dir;
  bool temporary = false;
  std::unique_ptr<Database> db;
  std::shared_ptr<Memory> tokens;    // the model's token memory, holding the corpus
  std::vector<Document> text_docs;   // the corpus documents
  int64_t corpus_slots = 0;
};

std::unique_ptr<CorpusMemory> build_corpus_memory(LanguageModel& lm, const CorpusMemoryOptions& options);

// Sentences (shorter than 300 bytes) of the documents, in order, about `max` of them: the prose
// that facts are mixed into.
std::vector<Sentence> prose_sentences(const std::vector<const std::vector<Document>*>& sources,
                                      std::size_t max = 20000);

}  // namespace engram::lm
