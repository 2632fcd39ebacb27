// lm/attention.h — causal multi-head self-attention with an optional KV cache and an optional
// bidirectional prefix.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace engram::lm {

// Keys and values of the positions already seen, for incremental decoding.
struct LayerCache {
  torch::Tensor k;  // [B, H, Tc, hd]
  torch::Tensor v;  // [B, H, Tc, hd]
  int64_t length() const { return k.defined() ? k.size(2) : 0; }
};

struct CausalSelfAttentionImpl : torch::nn::Module {
  CausalSelfAttentionImpl(int d_model, int n_head, float dropout);

  // x [B, T, C] → [B, T, C]. With a cache, x holds the positions after the cached ones, which
  // are attended to as well; the cache is extended with x's keys and values.
  // `prefix` (optional, int64 [B]): the first prefix[b] positions of row b attend to each other
  // in both directions (a prefix LM: retrieved passages and the question are read as a whole);
  // every other position attends causally.
  torch::Tensor forward(const torch::Tensor& x, LayerCache* cache = nullptr, const torch::Tensor& prefix = {});

  int d_model;
  int n_head;
  float dropout;
  torch::nn::Linear qkv{nullptr};
  torch::nn::Linear proj{nullptr};
};
TORCH_MODULE(CausalSelfAttention);

}  // namespace engram::lm
