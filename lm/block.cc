// lm/block.cc — a decoder block.
#include "lm/block.h"

namespace engram::lm {

BlockImpl::BlockImpl(const ModelConfig& c, bool with_memory) : dropout(c.dropout) {
  ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.d_model})));
  attn = register_module("attn", CausalSelfAttention(c.d_model, c.n_head, c.dropout));
  if (with_memory) memory = register_module("memory", MemoryAttention(c));
  ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.d_model})));
  fc = register_module("fc", torch::nn::Linear(c.d_model, c.ff_dim()));
  proj = register_module("proj", torch::nn::Linear(c.ff_dim(), c.d_model));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& h, LayerCache* cache, const torch::Tensor& prefix) {
  return feed_forward(attend(h, cache, prefix));
}

torch::Tensor BlockImpl::attend(const torch::Tensor& h, LayerCache* cache, const torch::Tensor& prefix) {
  return h + attn(ln1(h), cache, prefix);  // [B, T, C]
}

torch::Tensor BlockImpl::feed_forward(const torch::Tensor& h) {
  auto f = proj(torch::gelu(fc(ln2(h))));  // [B, T, C]
  if (dropout > 0 && is_training()) f = torch::dropout(f, dropout, true);
  return h + f;
}

}  // namespace engram::lm
