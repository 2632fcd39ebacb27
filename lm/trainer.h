// lm/trainer.h — training with a dynamically updated memory. LibTorch-free interface.
//
// Documents are cut into episodes of `segments` segments of block_size tokens, processed in
// order, one optimizer step per segment. After each segment the memory block's (key, value)
// slots are inserted into an engram memory that later segments read. The memory is cleared at
// each new batch of documents ("document") or keeps the most recent `memory_window` slots
// ("window").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lm/model_config.h"

namespace engram::lm {

struct TrainOptions {
  std::vector<std::string> inputs;  // training text files (documents separated by <|endofdoc|>)
  std::vector<std::string> valid;   // validation text files (optional)
  std::string out;                  // model directory (checkpoints, loss.csv, loss.png)
  ModelConfig model;                // vocab_size is replaced by the tokenizer's
  int vocab_size = 4000;
  int64_t steps = 1000;             // optimizer steps (= segments) in total
  int batch = 16;
  int segments = 8;                 // segments per episode
  double lr = 1e-3, min_lr = 1e-4;
  int64_t warmup = 100;
  double weight_decay = 0.1;
  double clip = 1.0;
  int64_t eval_every = 200, save_every = 500, log_every = 20;
  int eval_batches = 2;
  bool use_memory = true;
  std::string memory_mode = "document";  // "document" | "window"
  int64_t memory_window = 100000;
  // Recall drills: prompt<TAB>answer facts (never the evaluation facts) stated in early
  // segments, with answers drawn at random, and asked again in later ones.
  std::string drill_facts;
  double drill_ratio = 0.5;         // share of episodes that are drills
  int drill_knowledge_segments = 0; // 0: half the segments
  // Recall drills asked in rephrase_prompt()'s words. 0 by default: that rephrasing is the
  // evaluation's (eval-rephrased.tsv), which training must not see.
  double rephrase_prob = 0.0;
  // Reader drills (lm/qa_drills.h): a share of episodes whose segments hold retrieved passages,
  // a question and its answer, so that the model learns to answer from passages it reads.
  double reader_ratio = 0.0;        // share of episodes that are reader drills (0: none)
  std::string reader_facts;         // subject<TAB>relation<TAB>object: real subjects for drills
  int read_passages = 4;            // passages a drill (and later a question) reads
  // WordNet word families for the passage keys (scripts/wordnet-families.py; lm/word_families.h),
  // copied into the model as word_families.tsv. Empty: keys of the words alone.
  std::string word_families;
  int copy_match = 8;               // ModelConfig::copy_match of a reader (read with 3: tune-readout --copy-match)
  uint64_t seed = 1;
  int threads = 2;
  std::string device = "cpu";
  bool resume = false;
  bool quiet = false;
};

struct TrainReport {
  int64_t steps = 0;
  int64_t tokens = 0;
  double train_loss = 0;      // mean over the last log interval
  double val_loss = 0;        // with memory (NaN without validation data)
  double val_loss_nomem = 0;
  double tokens_per_s = 0;
};

// Trains (or resumes) and writes the model directory. Throws engram::Error for bad input
// (empty corpus, a corpus too short for one episode, a missing file).
TrainReport train(const TrainOptions& options);

// Training throughput on random tokens, with or without the memory, for side-by-side
// comparisons (lm/bench/). Returns tokens per second after `warmup_steps` steps.
struct BenchOptions {
  ModelConfig model;
  int batch = 16;
  int segments = 8;
  int64_t steps = 20;
  int64_t warmup_steps = 3;
  bool use_memory = true;
  int threads = 2;
  std::string device = "cpu";
  std::string db_dir;  // where the temporary memory lives (default: a temp folder)
};
double bench_throughput(const BenchOptions& options);

// A JSON rendering of the options, stored in config.json.
std::string train_options_to_json(const TrainOptions& o);

}  // namespace engram::lm
