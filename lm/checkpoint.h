// lm/checkpoint.h — saving and loading a model directory:
//   config.json     model config, training options, step
//   model.pt        parameters (LibTorch archive)
//   optimizer.pt    AdamW state (for resuming)
//   tokenizer.model the SentencePiece model
//   passage_keys.tsv the lexical keys of the passage memory (models that read passages)
//   word_families.tsv the keys' word families (optional; lm/word_families.h)
#pragma once

#include <torch/optim/optimizer.h>

#include <memory>
#include <string>

#include "lm/lexical_keys.h"
#include "lm/model.h"
#include "lm/tokenizer.h"

namespace engram::lm {

struct TrainState {
  int64_t step = 0;
  int64_t tokens = 0;
};

struct LoadedModel {
  ModelConfig cfg;
  Gpt model{nullptr};
  std::unique_ptr<Tokenizer> tokenizer;
  TrainState state;
  std::string options_json;  // the training options the model was trained with
  std::shared_ptr<LexicalKeys> passage_keys;  // null unless cfg.read_passages > 0
  c10::Device device{c10::kCPU};
};

// Writes (or overwrites) the checkpoint in `dir`; each file is written under a temporary name
// and renamed, so a crash leaves the previous file or the new one. `optimizer` may be null.
void save_checkpoint(const std::string& dir, Gpt& model, torch::optim::Optimizer* optimizer,
                     const TrainState& state, const Tokenizer& tokenizer,
                     const std::string& options_json);

// Throws engram::Error(kNotFound) naming the missing file (config, parameters or tokenizer).
LoadedModel load_checkpoint(const std::string& dir, c10::Device device);

// Replaces the model config stored in dir/config.json (e.g. a tuned kNN read-out), keeping
// the rest of the file. The config must describe the same shape.
void update_model_config(const std::string& dir, const ModelConfig& cfg);

// Restores the optimizer state if `dir` has one; returns whether it did.
bool load_optimizer(const std::string& dir, torch::optim::Optimizer& optimizer);

}  // namespace engram::lm
