// lm/block.cc — a decoder block.
#include "lm/block.h"

namespace engram::lm {

BlockImpl::BlockImpl(const ModelConfig& c, bool with_memory) : dropout(c.dropout) {
  ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.d_model})));
  attn = register_module("attn", CausalSelfAttention(c.d_model, c.n_head, c.dropout));
  if (with_memory) memory = register_module("memory", MemoryAttention(c));
  knn = with_memory && c.memory_knn;
  ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.d_model})));
  fc = register_module("fc", torch::nn::Linear(c.d_model, c.ff_dim()));
  proj = register_module("proj", torch::nn::Linear(c.ff_dim(), c.d_model));
}

torch::Tensor BlockImpl::forward(torch::Tensor h, LayerCache* cache, MemoryInterface* mem,
                                 MemorySlots* slots) {
  h = h + attn(ln1(h), cache);  // [B, T, C]
  if (memory) {
    // Slots are taken from the stream the memory sublayer reads, before its own update, so
    // that a key depends on nothing retrieved: ingestion then needs no memory at all.
    if (slots != nullptr) *slots = memory->slots(h);
    if (knn)
      last_knn = memory->knn(h, mem);  // mixed into the output distribution by Gpt
    else
      h = h + memory(h, mem);  // [B, T, C]
  }
  auto f = proj(torch::gelu(fc(ln2(h))));  // [B, T, C]
  if (dropout > 0 && is_training()) f = torch::dropout(f, dropout, true);
  return h + f;
}

MemorySlots BlockImpl::slots_only(const torch::Tensor& h0) {
  auto h = h0 + attn(ln1(h0), nullptr);  // [B, T, C]
  return memory->slots(h);
}

}  // namespace engram::lm
