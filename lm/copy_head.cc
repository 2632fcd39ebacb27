// lm/copy_head.cc — the pointer over the passages.
#include "lm/copy_head.h"

#include <cmath>
#include <limits>

namespace engram::lm {

CopyHeadImpl::CopyHeadImpl(int d, int m) : d_model(d), match(m) {
  wq = register_module("wq", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(false)));
  wk = register_module("wk", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(false)));
  wg = register_module("wg", torch::nn::Linear(d, 1));
  beta = register_parameter("beta", torch::full({}, 4.0));
  if (match > 1) {
    gamma = register_parameter("gamma", torch::full({}, 1.0));
    // Runs start trusted (σ(2) ≈ 0.88): the bonus helps from the first step.
    wc = register_module("wc", torch::nn::Linear(d, 1));
    torch::NoGradGuard ng;
    wc->weight.zero_();
    wc->bias.fill_(2.0);
  }
}

namespace {

// m_tj for the last T of the S tokens seen: how many tokens up to x_t equal, in order, the
// source tokens up to x_{j−1} (capped at `match`). [B, T, P] in the dtype of `like`.
torch::Tensor match_runs(const torch::Tensor& seen, const torch::Tensor& tokens, int64_t T, int match,
                         const torch::Tensor& like) {
  // Only the last T rows are wanted, and their runs look back at most match − 1 tokens: the
  // older history (the whole context, at every decoding step) need not be compared.
  const int64_t keep = std::min<int64_t>(seen.size(1), T + match - 1);
  const torch::Tensor recent = seen.narrow(1, seen.size(1) - keep, keep);
  const int64_t B = recent.size(0), S = keep, P = tokens.size(1);
  auto before = torch::cat({torch::full({B, 1}, -1, tokens.options()), tokens.narrow(1, 0, P - 1)}, 1);  // [B, P]
  auto eq = before.unsqueeze(1).eq(recent.unsqueeze(2)).to(like.dtype());                                  // [B, S, P]
  auto run = eq.clone();
  auto still = eq;
  for (int k = 1; k < match && k < S && k < P; ++k) {
    // eq shifted k back on both axes: x_{t−k} = x_{j−1−k}.
    auto shifted = torch::constant_pad_nd(eq, {k, 0, k, 0}).narrow(1, 0, S).narrow(2, 0, P);
    still = still * shifted;
    run = run + still;
  }
  return run.narrow(1, S - T, T);  // [B, T, P]
}

}  // namespace

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

CopyRead CopyHeadImpl::read(const torch::Tensor& h, const torch::Tensor& seen, const CopySource& src) {
  CopyRead r;
  if (!src.defined()) return r;
  const int64_t T = h.size(1);
  const auto runs = match_runs(seen, src.tokens, T, match, h);  // [B, T, P]
  auto bonus = beta * runs.gt(0).to(h.dtype());
  if (gamma.defined()) bonus = torch::sigmoid(wc(h)) * (bonus + gamma * (runs - 1).clamp_min(0));
  auto s = torch::matmul(wq(h), src.keys.transpose(1, 2)) / std::sqrt(static_cast<double>(d_model)) + bonus;  // [B, T, P]
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
