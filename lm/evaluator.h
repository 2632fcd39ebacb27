// lm/evaluator.h — what the memory is worth, measured. LibTorch-free interface.
//
// (a) held-out perplexity: no memory; the memory holding the training corpus (kNN-LM setting);
//     the held-out document's own earlier segments (dynamic); both.
// (b) fact recall: facts never seen in training are written into ordinary documents (several a
//     paragraph, shuffled, mixed with prose), ingested next to the corpus's slots, and every
//     bare prompt is completed greedily, with and without the memory: asked as stated
//     (--facts), in other words (--rephrased), and — for facts stated object first — subject
//     first (--inverted). A model that reads passages answers from the passage memory
//     (lm/question_answering.h); others from their token memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace engram::lm {

struct EvalOptions {
  std::string model;                // model directory
  std::string facts;                // prompt<TAB>answer[<TAB>relation]
  std::string rephrased;            // the same facts asked another way (optional; else derived)
  std::string inverted;             // statement<TAB>prompt<TAB>answer[<TAB>relation] (optional)
  std::vector<std::string> text;    // text for the memory: training corpus / distractors
  // prompt<TAB>answer facts about other subjects, stated as passages among the corpus's: the
  // hardest distractors (the same relations and templates). Never the eval facts.
  std::vector<std::string> distractor_facts;
  std::string heldout;              // held-out text for perplexity (optional)
  std::string db;                   // database folder (default: a temporary one, removed after)
  std::string out;                  // per-fact results, one JSON object a line (optional)
  int64_t distractor_slots = 100000;
  int max_facts = 0;                // 0: all
  int max_new_tokens = 0;           // 0: what the longest answer needs
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

}  // namespace engram::lm
