// lm/block.h — one pre-LN decoder block: attention, (the memory sublayer), feed-forward.
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

  // h [B, T, C] → [B, T, C]: attend, then feed_forward. The memory block's sublayer sits
  // between the two and is run by the model (Gpt::trace), which owns what it reads.
  torch::Tensor forward(const torch::Tensor& h, LayerCache* cache, const torch::Tensor& prefix = {});
  // h + attn(ln1(h)); `prefix` as in CausalSelfAttention.
  torch::Tensor attend(const torch::Tensor& h, LayerCache* cache, const torch::Tensor& prefix = {});
  torch::Tensor feed_forward(const torch::Tensor& h);               // h + mlp(ln2(h))

  float dropout;
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  CausalSelfAttention attn{nullptr};
  MemoryAttention memory{nullptr};  // null in blocks without the memory sublayer
  torch::nn::Linear fc{nullptr}, proj{nullptr};
};
TORCH_MODULE(Block);

}  // namespace engram::lm
