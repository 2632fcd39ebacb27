// lm/attention.cc — causal self-attention.
#include "lm/attention.h"

#include <cmath>
#include <limits>

namespace engram::lm {

CausalSelfAttentionImpl::CausalSelfAttentionImpl(int d, int h, float p)
    : d_model(d), n_head(h), dropout(p) {
  qkv = register_module("qkv", torch::nn::Linear(d, 3 * d));
  proj = register_module("proj", torch::nn::Linear(d, d));
}

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x, LayerCache* cache, const torch::Tensor& prefix) {
  const int64_t B = x.size(0), T = x.size(1), hd = d_model / n_head;
  auto parts = qkv(x).view({B, T, 3, n_head, hd}).permute({2, 0, 3, 1, 4});  // [3, B, H, T, hd]
  torch::Tensor q = parts[0], k = parts[1], v = parts[2];                    // [B, H, T, hd]
  int64_t past = 0;
  if (cache != nullptr) {
    if (cache->k.defined()) {
      past = cache->length();
      k = torch::cat({cache->k, k}, 2);  // [B, H, past+T, hd]
      v = torch::cat({cache->v, v}, 2);  // [B, H, past+T, hd]
    }
    cache->k = k;
    cache->v = v;
  }
  auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd));  // [B, H, T, past+T]
  // Query i (absolute position past+i) may see keys j <= past+i: mask everything above that.
  auto future = torch::ones({T, past + T}, x.options().dtype(torch::kBool)).triu(past + 1);  // [T, past+T]
  if (prefix.defined()) {
    // Inside a row's prefix, query and key both before prefix[b]: visible in both directions.
    auto opts = x.options().dtype(torch::kLong);
    auto qi = (torch::arange(T, opts) + past).view({1, T, 1});     // [1, T, 1]
    auto kj = torch::arange(past + T, opts).view({1, 1, past + T});  // [1, 1, past+T]
    auto p = prefix.to(x.device()).view({B, 1, 1});                 // [B, 1, 1]
    auto inside = qi.lt(p).logical_and(kj.lt(p));                   // [B, T, past+T]
    future = future.unsqueeze(0).logical_and(inside.logical_not()).unsqueeze(1);  // [B, 1, T, past+T]
  }
  att = att.masked_fill(future, -std::numeric_limits<float>::infinity());
  att = torch::softmax(att, -1);
  if (dropout > 0 && is_training()) att = torch::dropout(att, dropout, true);
  auto y = torch::matmul(att, v);                           // [B, H, T, hd]
  y = y.transpose(1, 2).contiguous().view({B, T, d_model});  // [B, T, C]
  return proj(y);
}

}  // namespace engram::lm
