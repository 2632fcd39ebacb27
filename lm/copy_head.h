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
// Answers are spans ("1", "8", "7", "1"): having just read x_t, the next token is found after
// an occurrence of x_t in the passages (an induction step, wired in). One token is ambiguous —
// "0" in "1908" and in "1960" — so the bonus grows with the run m_tj of tokens read that match
// the passage tokens before j (x_t = x_{j−1}, x_{t−1} = x_{j−2}, …, up to `match` of them):
// s_tj = q_t·k_j/√C + c_t·(β·[m_tj ≥ 1] + γ·(m_tj − 1)⁺). A half-copied "19" continues in the
// year it was copied from; a question asked word for word continues its statement. But "Jean
// Genet was" also continues "Jean Genet was born …" when the question is "The year of the birth
// of Jean Genet was": so how much a run counts, c_t = σ(w_c·h_t + b_c), is the position's own
// call — high inside a copied span, low where the question, not the passage, says what follows.
// Runs are capped short when reading (3; training uses 8): a long run is as often the shared
// wording of another subject's fact ("… was born in the year") as the continuation of the fact
// asked about.
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
  // match: the longest run of matched tokens that earns a bonus (1: the token just read only).
  CopyHeadImpl(int d_model, int match);

  // The source of the first prefix[b] positions of h [B, T, C] (idx: their tokens).
  CopySource source(const torch::Tensor& h, const torch::Tensor& idx, const torch::Tensor& prefix);
  // The read of positions h [B, T, C] from `src`. seen [B, S ≥ T]: every token read so far,
  // the last T of them h's inputs (the runs look back past a decoding step's own token).
  CopyRead read(const torch::Tensor& h, const torch::Tensor& seen, const CopySource& src);

  // (1 − g)·p + g·p_copy, for probabilities p [B, T, V].
  static torch::Tensor mix(const torch::Tensor& p, const CopyRead& r);
  // p_copy(y) and the gate at the targets y [B, T] (≥ 0): ([B, T], [B, T]).
  static std::pair<torch::Tensor, torch::Tensor> at_targets(const CopyRead& r, const torch::Tensor& y);

  int d_model, match;
  torch::nn::Linear wq{nullptr}, wk{nullptr}, wg{nullptr};
  torch::nn::Linear wc{nullptr};  // the trust in runs (match > 1 only)
  torch::Tensor beta;   // [] the bonus for continuing a span
  torch::Tensor gamma;  // [] the bonus for each further matched token (match > 1 only)
};
TORCH_MODULE(CopyHead);

}  // namespace engram::lm
