// lm/model.h — the GPT-style causal decoder with a memory-attention sublayer in one block.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "lm/block.h"
#include "lm/model_config.h"

namespace engram::lm {

// Per-layer KV caches for incremental decoding.
struct ModelCache {
  std::vector<LayerCache> layers;
  int64_t length() const { return layers.empty() ? 0 : layers[0].length(); }
  void clear() { layers.clear(); }
};

struct KnnParts {
  torch::Tensor lm_logits;  // [B, T, V]
  KnnRead read;             // undefined tensors when nothing was retrieved
  bool skip_mix = false;    // set by the caller: forward() returns lm_logits unmixed (knn_loss)
};

struct GptImpl : torch::nn::Module {
  explicit GptImpl(const ModelConfig& c);

  // idx [B, T] (int64 token ids) → logits [B, T, V]. With a cache, idx continues the cached
  // positions. `memory` (nullable) is read by the memory sublayer; `slots` (nullable) receives
  // the slots the memory block produced. Throws engram::Error(kInvalidArgument) when the
  // positions exceed block_size or the memory's dimensions do not match.
  // With memory_knn, `parts` (nullable) receives the LM's own logits (before mixing) and the
  // kNN read, for tuning the read-out (lm/tuner.h).
  torch::Tensor forward(const torch::Tensor& idx, MemoryInterface* memory = nullptr,
                        ModelCache* cache = nullptr, MemorySlots* slots = nullptr,
                        KnnParts* parts = nullptr);

  // Only the memory block's slots for idx [B, T]: the layers above it are not run.
  MemorySlots encode_slots(const torch::Tensor& idx);

  ModelConfig cfg;
  torch::nn::Embedding wte{nullptr}, wpe{nullptr};
  std::vector<Block> blocks;
  torch::nn::LayerNorm ln_f{nullptr};

 private:
  const MemoryInterface* checked_memory_ = nullptr;
};
TORCH_MODULE(Gpt);

// kNN-LM slot values for idx [B, T]: [B, T−1, dim] with value[0] = the id of token t+1.
torch::Tensor knn_values(const torch::Tensor& idx, int64_t dim);

// Mean next-token cross-entropy: logits [B, T, V], targets [B, T] → [].
torch::Tensor lm_loss(const torch::Tensor& logits, const torch::Tensor& targets);

// The same loss as lm_loss(mix(lm_logits, read), targets), computed at the targets only:
// −log((1−λ)·p_LM(y) + λ·p_kNN(y)), without building the mixed [B, T, V] distribution.
torch::Tensor knn_loss(const KnnParts& parts, const torch::Tensor& targets);

}  // namespace engram::lm
