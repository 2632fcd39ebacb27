// lm/model.h — the GPT-style causal decoder with a memory-attention sublayer in one block.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "lm/block.h"
#include "lm/copy_head.h"
#include "lm/model_config.h"

namespace engram::lm {

// Per-layer KV caches for incremental decoding.
struct ModelCache {
  std::vector<LayerCache> layers;
  CopySource copy_source;  // the passages of the prefix, for the copy head's later reads
  torch::Tensor tokens;    // [B, length()] the tokens read (copy_head models only)
  int64_t length() const { return layers.empty() ? 0 : layers[0].length(); }
  void clear() {
    layers.clear();
    copy_source = {};
    tokens = torch::Tensor();
  }
};

// Everything one pass of the decoder computes, for the code that needs more than the output:
// training (the slots to store, the kNN read for its loss) and read-out tuning.
struct Trace {
  torch::Tensor logits;  // [B, T, V] the LM's own next-token logits (before any kNN mixture)
  KnnRead knn;           // memory_knn: the read of the retrieved slots (undefined: nothing retrieved)
  CopyRead copy;         // copy_head: the pointer over the prefix (undefined: no prefix)
  MemorySlots slots;     // the memory block's slots of these positions (when asked for)
  // The slots each position's memory read attended to and their weights (α, or p_kNN's weights
  // with memory_knn): [B, T, k], ids int64 with −1 for no slot. Undefined: nothing was read.
  torch::Tensor read_ids, read_alpha;
};

struct GptImpl : torch::nn::Module {
  explicit GptImpl(const ModelConfig& c);

  // idx [B, T] (int64 token ids) → the next-token distribution [B, T, V]: logits, or with
  // memory_knn the log-probabilities log((1−λ)·p_LM + λ·p_kNN). With a cache, idx continues the
  // cached positions. `memory` (nullable) is read by the memory sublayer. `prefix` (optional,
  // int64 [B]): the first prefix[b] positions of row b — passages and a question the model
  // reads (lm/reader.h) — see each other in both directions; the rest is causal. Throws
  // engram::Error(kInvalidArgument) when the positions exceed block_size or the memory's
  // dimensions do not match.
  torch::Tensor forward(const torch::Tensor& idx, MemoryInterface* memory = nullptr,
                        ModelCache* cache = nullptr, const torch::Tensor& prefix = {});

  // The same pass, returning its parts; with `want_slots` also the slots to store.
  Trace trace(const torch::Tensor& idx, MemoryInterface* memory, ModelCache* cache = nullptr,
              bool want_slots = false, const torch::Tensor& prefix = {});

  // The output of a trace: its logits, or — with a copy read or a kNN read — the log of
  // (1−λ)·[(1−g)·p_LM + g·p_copy] + λ·p_kNN.
  torch::Tensor output(const Trace& t) const;

  // Only the memory block's slots for idx [B, T]: the layers above it are not run.
  MemorySlots encode_slots(const torch::Tensor& idx);
  // Only the memory block's queries for idx [B, T] → [B, T, dk]: what each position would
  // look up in the memory (unit length with cosine scores).
  torch::Tensor encode_queries(const torch::Tensor& idx);

  ModelConfig cfg;
  torch::nn::Embedding wte{nullptr}, wpe{nullptr};
  std::vector<Block> blocks;
  torch::nn::LayerNorm ln_f{nullptr};
  CopyHead copy{nullptr};  // copy_head models only

 private:
  // The stream the memory sublayer reads for idx [B, T] (no cache, no memory) → [B, T, C].
  torch::Tensor memory_stream(const torch::Tensor& idx);

  const MemoryInterface* checked_memory_ = nullptr;
};
TORCH_MODULE(Gpt);

// kNN-LM slot values for idx [B, T]: [B, T−1, dim] with value[0] = the id of token t+1.
torch::Tensor knn_values(const torch::Tensor& idx, int64_t dim);

// Mean next-token cross-entropy: logits [B, T, V], targets [B, T] → []; targets < 0 are skipped.
torch::Tensor lm_loss(const torch::Tensor& logits, const torch::Tensor& targets);

// The loss of a trace: lm_loss of its output, computed at the targets only —
// −log of output()'s mixture at y — without building the mixed [B, T, V] distribution.
// Targets < 0 are not scored (the inside of a bidirectional prefix, whose next token is seen).
torch::Tensor trace_loss(const Trace& t, const torch::Tensor& targets);

}  // namespace engram::lm
