// lm/block.h — one pre-LN decoder block: attention, optional memory sublayer, feed-forward.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "lm/attention.h"
#include "lm/memory_layer.h"
#include "lm/model_config.h"

namespace engram::lm {

struct BlockImpl : torch::nn::Module {
  BlockImpl(const ModelConfig& c, bool with_memory);

  // h [B, T, C] → [B, T, C]. `slots`, when given and this block has the memory sublayer,
  // receives the (key, value) slots of these positions.
  torch::Tensor forward(torch::Tensor h, LayerCache* cache, MemoryInterface* memory,
                        MemorySlots* slots);

  // Runs the block only as far as the memory sublayer needs and returns its slots.
  MemorySlots slots_only(const torch::Tensor& h);

  float dropout;
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  CausalSelfAttention attn{nullptr};
  MemoryAttention memory{nullptr};  // null in blocks without the memory sublayer
  bool knn = false;                 // memory_knn: the sublayer reads, the model mixes (Gpt)
  KnnRead last_knn;                 // the kNN read of the latest forward
  torch::nn::Linear fc{nullptr}, proj{nullptr};
};
TORCH_MODULE(Block);

}  // namespace engram::lm
