// lm/copy_head.cc — the pointer over the passages.
#include "lm/copy_head.h"

#include <cmath>
#include <limits>

namespace engram::lm {

CopyHeadImpl::CopyHeadImpl(int d) : d_model(d) {
  wq = register_module("wq", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(false)));
  wk = register_module("wk", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(false)));
  wg = register_module("wg", torch::nn::Linear(d, 1));
  beta = register_parameter("beta", torch::full({}, 4.0));
}

CopySource CopyHeadImpl::source(const torch::Tensor& h, const torch::Tensor& idx, const torch::Tensor& prefix) {
  CopySource s;
  const int64_t B = h.size(0), T = h.size(1);
  const int64_t P = std::min<int64_t>(T, prefix.max().item<int64_t>());
  if (P <= 0) return s;
  s.keys = wk(h.narrow(1, 0, P));                                                // [B, P, C]
  s.tokens = idx.narrow(1, 0, P);                                                // [B, P]
  auto j = torch::arange(P, idx.options().dtype(torch::kLong)).view({1, P});     // [1, P]
  s.valid = j.lt(prefix.to(h.device()).view({B, 1}));                           // [B, P]
  return s;
}

CopyRead CopyHeadImpl::read(const torch::Tensor& h, const torch::Tensor& idx, const CopySource& src) {
  CopyRead r;
  if (!src.defined()) return r;
  const int64_t B = h.size(0), T = h.size(1), P = src.keys.size(1);
  // [x_{j−1} = x_t]: the passage position after an occurrence of the current token.
  auto before = torch::cat({torch::full({B, 1}, -1, src.tokens.options()), src.tokens.narrow(1, 0, P - 1)}, 1);  // [B, P]
  auto follows = before.unsqueeze(1).eq(idx.unsqueeze(2)).to(h.dtype());                                          // [B, T, P]
  auto s = torch::matmul(wq(h), src.keys.transpose(1, 2)) / std::sqrt(static_cast<double>(d_model)) +
           beta * follows;  // [B, T, P]
  // Positions outside the prefix are masked; a row without a prefix keeps all of them (finite
  // scores, no NaN in either pass) and is then zeroed by `any`.
  auto any_row = src.valid.any(-1, true);                                      // [B, 1]
  auto usable = src.valid.logical_or(any_row.logical_not()).unsqueeze(1);     // [B, 1, P]
  s = s.masked_fill(usable.logical_not(), -std::numeric_limits<float>::infinity());
  auto any = any_row.view({-1, 1, 1}).to(h.dtype());  // [B, 1, 1]
  r.alpha = torch::softmax(s, -1) * any;               // [B, T, P]
  r.tokens = src.tokens.unsqueeze(1).expand({-1, T, -1});         // [B, T, P]
  r.gate = torch::sigmoid(wg(h)) * any;                            // [B, T, 1]
  return r;
}

torch::Tensor CopyHeadImpl::mix(const torch::Tensor& p, const CopyRead& r) {
  if (!r.defined()) return p;
  auto p_copy = torch::zeros_like(p).scatter_add(-1, r.tokens, r.alpha);  // [B, T, V]
  return (1 - r.gate) * p + r.gate * p_copy;
}

std::pair<torch::Tensor, torch::Tensor> CopyHeadImpl::at_targets(const CopyRead& r, const torch::Tensor& y) {
  auto hit = r.tokens.eq(y.unsqueeze(-1)).to(r.alpha.dtype());  // [B, T, P]
  return {(r.alpha * hit).sum(-1), r.gate.squeeze(-1)};
}

}  // namespace engram::lm
