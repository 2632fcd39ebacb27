// lm/tuner.h — picks the kNN read-out (ModelConfig::readout) of a trained
// model on held-out *development* data, as kNN-LM tunes its λ and temperature on validation:
// recall of dev facts (never the evaluation facts) ingested as documents among the corpus
// distractors, and perplexity of validation text (never the test text) with the corpus in the
// memory. LibTorch-free interface.
//
// One pass collects, for every scored position, the LM's own probabilities and the retrieved
// slots' cosines and tokens; every grid point is then scored from those numbers without
// running the model again. Rule: the highest dev recall (teacher-forced greedy: every answer
// token must be the argmax of the mixture), then — among settings within `recall_slack` of it
// — the lowest validation perplexity.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace engram::lm {

struct TuneOptions {
  std::string model;                // model directory
  std::string facts;                // dev facts, prompt<TAB>answer (never the eval facts)
  std::vector<std::string> text;    // text for the memory: training corpus / distractors
  std::string valid;                // validation text for perplexity (never the test text)
  int64_t distractor_slots = 100000;
  int max_facts = 300;              // dev facts used (0: all)
  int64_t ppl_tokens = 20000;
  int facts_per_paragraph = 4;
  double recall_slack = 0.01;
  std::vector<int> ks = {16, 32, 64, 128};  // slots that vote (memory_k); empty: the model's
  bool corpus_packed = true;        // the corpus ingested in block_size segments (facts: sentences)
  bool doc_memory = true;           // perplexity with the document so far added to the memory
  bool write = true;                // store the chosen read-out in the model's config.json
  int copy_match = 0;               // also store this run cap of the copy head (0: keep the model's)
  // Where the kNN keys come from, each tried in turn (ModelConfig::knn_key_hidden): "hidden"
  // (LN(h), kNN-LM's choice) and "projected" (W_q·LN(h), as trained).
  std::vector<std::string> knn_keys = {"hidden", "projected"};
  std::string device = "cpu";
  int threads = 2;
  uint64_t seed = 7;                // a different draw of prose and facts than eval's
  bool progress = true;
};

struct TuneReport {
  std::string json;   // one line: the chosen setting and its dev figures
  std::string table;  // the learned read-out, the chosen one, the best-perplexity one
};

TuneReport tune_readout(const TuneOptions& options);

}  // namespace engram::lm
