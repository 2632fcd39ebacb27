// lm/copy_head.h — copying from the passages the model reads (a pointer-generator head).
//
// A reader must reproduce names, years and codes it has seen once, in a passage of its
// context. Generating them through the vocabulary asks a small model to learn induction from
// few examples; a pointer gives the answer token a direct path instead (See et al. 2017):
//
//   a_tj = softmax_j(q_t · k_j / √C)      over the prefix positions j (the passages)
//   p_copy(w) = Σ_{j : x_j = w} a_tj      g_t = σ(w_g · h_t + b_g)
//   p = (1 − g)·p_LM + g·p_copy
//
// with q = W_q·h, k = W_k·h of the final (normed) hidden states; the prefix is read in both
// directions (lm/attention.h), so a key at "1871" in "In 1871, the Zorvan Institute was
// founded." knows what it is the year of. Rows without a prefix copy nothing.
//
// Answers are spans ("1", "8", "7", "1"): having just read token x_t, the next one is found after
// an occurrence of x_t in the passages (an induction step, wired in). So the scores get a
// learned bonus β where the passage's previous token is the current one:
// s_tj = q_t·k_j/√C + β·[x_{j−1} = x_t]; the content score picks which occurrence.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace engram::lm {

// What the passages offer to copy: the keys and tokens of the prefix positions.
struct CopySource {
  torch::Tensor keys;    // [B, P, C]
  torch::Tensor tokens;  // [B, P] int64
  torch::Tensor valid;   // [B, P] bool: inside the row's prefix
  bool defined() const { return keys.defined(); }
};

// The copy distribution of each position, kept sparse: weights over the source positions.
struct CopyRead {
  torch::Tensor alpha;   // [B, T, P], 0 outside the prefix
  torch::Tensor tokens;  // [B, T, P] int64 (the source tokens, broadcast)
  torch::Tensor gate;    // [B, T, 1], 0 in rows without a prefix
  bool defined() const { return alpha.defined(); }
};

struct CopyHeadImpl : torch::nn::Module {
  explicit CopyHeadImpl(int d_model);

  // The source of the first prefix[b] positions of h [B, T, C] (idx: their tokens).
  CopySource source(const torch::Tensor& h, const torch::Tensor& idx, const torch::Tensor& prefix);
  // The read of positions h [B, T, C], whose input tokens are idx [B, T], from `src`.
  CopyRead read(const torch::Tensor& h, const torch::Tensor& idx, const CopySource& src);

  // (1 − g)·p + g·p_copy, for probabilities p [B, T, V].
  static torch::Tensor mix(const torch::Tensor& p, const CopyRead& r);
  // p_copy(y) and the gate at the targets y [B, T] (≥ 0): ([B, T], [B, T]).
  static std::pair<torch::Tensor, torch::Tensor> at_targets(const CopyRead& r, const torch::Tensor& y);

  int d_model;
  torch::nn::Linear wq{nullptr}, wk{nullptr}, wg{nullptr};
  torch::Tensor beta;  // [] the bonus for continuing a span
};
TORCH_MODULE(CopyHead);

}  // namespace engram::lm
