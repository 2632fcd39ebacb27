// lm/evaluator.h — what the memory is worth, measured. LibTorch-free interface.
//
// (a) held-out perplexity: no memory; the memory holding the training corpus (kNN-LM setting);
//     the held-out document's own earlier segments (dynamic); both.
// (b) fact recall: facts never seen in training are written into ordinary documents (several a
//     paragraph, shuffled, mixed with prose), ingested next to >= `distractor_slots` slots of
//     unrelated text, and every bare prompt is completed greedily; exact match of the answer,
//     with and without the memory, for the prompts as given and rephrased.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace engram::lm {

struct EvalOptions {
  std::string model;                // model directory
  std::string facts;                // prompt<TAB>answer
  std::string rephrased;            // the same facts asked another way (optional; else derived)
  std::vector<std::string> text;    // text for the memory: training corpus / distractors
  std::string heldout;              // held-out text for perplexity (optional)
  std::string db;                   // database folder (default: a temporary one, removed after)
  int64_t distractor_slots = 100000;
  int max_facts = 0;                // 0: all
  int max_new_tokens = 6;
  int64_t ppl_tokens = 40000;       // held-out tokens scored per setting
  int facts_per_paragraph = 4;
  bool sentence_segments = true;    // fact ingestion: one segment per sentence (else packed)
  bool corpus_packed = true;        // the corpus (--text) in block_size segments, as the LM reads
  std::string device = "cpu";
  int threads = 2;
  uint64_t seed = 1;
  bool progress = true;
};

struct EvalReport {
  std::string json;   // one line
  std::string table;  // human-readable
};

EvalReport run_eval(const EvalOptions& options);

// Exact match: the continuation (leading spaces ignored) starts with the answer, followed by
// the end or by something that is not a letter or digit.
bool exact_match(const std::string& continuation, const std::string& answer);

}  // namespace engram::lm
