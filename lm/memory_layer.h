// lm/memory_layer.h — the memory-attention sublayer.
//
//   q = W_q·LN(h);  (K, V) = retrieve(q, k)  (constants: no gradient flows into the store)
//   α = softmax(s(q, K));  h ← h + g ⊙ W_o(α·V)
//
// with s = scale·cos(q, K) (memory_cosine, the default) or q·Kᵀ/√dk, and a learned gate g that
// starts near 0. The same sublayer produces the (key, value) slots that are stored:
// (W_k·LN(h_t), W_v·LN(h_t')) with t' = t+1 when values are shifted (see ModelConfig).
// It reaches a memory only through engram::MemoryInterface (embedded or remote).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "lm/model_config.h"

namespace engram {
class MemoryInterface;
}

namespace engram::lm {

// Slots one forward pass produced, to be inserted into a memory after it.
struct MemorySlots {
  torch::Tensor keys;    // [B, T', dk]
  torch::Tensor values;  // [B, T', dv]
};

// What a kNN-LM read (ModelConfig::memory_knn) retrieved for each position: the weights of the
// retrieved slots, the tokens they vote for, and the interpolation weight λ.
struct KnnRead {
  torch::Tensor alpha;   // [B, T, k] softmax(scale·cos), 0 for missing slots
  torch::Tensor tokens;  // [B, T, k] int64 token ids (0 for missing slots)
  torch::Tensor lambda;  // [B, T, 1] σ(a·max cos + b), 0 where nothing was retrieved
  torch::Tensor cos;     // [B, T, k] the retrieved slots' cosines (−2 for missing slots)
  torch::Tensor ids;     // [B, T, k] int64 ids of the retrieved slots (−1 for missing slots)
};

// What the memory sublayer read for each position: the residual update, and which slots it
// attended to with which weights (the generator reports them per token).
struct MemoryRead {
  torch::Tensor update;  // [B, T, C] g ⊙ W_o(α·V)
  torch::Tensor ids;     // [B, T, k] int64 slot ids (−1: no slot); undefined when nothing was read
  torch::Tensor alpha;   // [B, T, k] α, 0 for missing slots; undefined when nothing was read
};

struct MemoryAttentionImpl : torch::nn::Module {
  explicit MemoryAttentionImpl(const ModelConfig& c);

  // h [B, T, C] → q [B, T, dk] (unit length with cosine scores).
  torch::Tensor queries(const torch::Tensor& h);

  // h [B, T, C] → the slots to store. T' = T−1 with shifted values (the last position has no
  // successor yet), else T.
  MemorySlots slots(const torch::Tensor& h);

  // The attention itself, for N queries over k retrieved slots each:
  // q [N, dk], K [N, k, dk], V [N, k, dv], valid [N, k] (bool) → g ⊙ W_o(α·V) [N, C].
  // Rows without a valid slot contribute 0.
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& K, const torch::Tensor& V,
                       const torch::Tensor& valid);
  // Its weights: α = softmax(s(q, K)) [N, k], 0 for invalid slots (all 0 in a row without one).
  torch::Tensor weights(const torch::Tensor& q, const torch::Tensor& K, const torch::Tensor& valid);
  // The update from given weights: alpha [N, k], V [N, k, dv], valid [N, k] → [N, C].
  torch::Tensor mix(const torch::Tensor& alpha, const torch::Tensor& V, const torch::Tensor& valid);

  // The residual update for h [B, T, C] → [B, T, C]: retrieves from `memory` (nullptr: zeros).
  torch::Tensor forward(const torch::Tensor& h, MemoryInterface* memory);
  // forward() with the slots it read and their weights.
  MemoryRead read(const torch::Tensor& h, MemoryInterface* memory);

  // kNN-LM read for h [B, T, C] (memory_knn): retrieves with the same queries; an undefined
  // result when there is no memory or it is empty.
  KnnRead knn(const torch::Tensor& h, MemoryInterface* memory);
  // λ for the best cosine of each query, maxcos [..., 1] → [..., 1]: the learned
  // σ((10+a)·maxcos + b − 8), or the fixed read-out of the config (knn_lambda_slope > 0).
  torch::Tensor knn_lambda(const torch::Tensor& maxcos) const;
  // The sharpness of p_kNN: the config's readout.scale when set, else the learned one.
  torch::Tensor knn_scale() const;


  // Throws engram::Error(kInvalidArgument) unless the memory's key_dim and value_dim match.
  void check_memory(const MemoryInterface& memory) const;

  ModelConfig cfg;
  torch::nn::LayerNorm ln{nullptr};
  torch::nn::Linear wq{nullptr};
  torch::nn::Linear wk{nullptr};  // only when W_k is not tied to W_q
  torch::nn::Linear wv{nullptr};
  torch::nn::Linear wo{nullptr};
  torch::Tensor gate;       // [C]
  torch::Tensor log_scale;  // [] sharpness of cosine scores
  torch::Tensor lam_w, lam_b;  // [] kNN-LM interpolation λ = σ((10+lam_w)·max cos + lam_b − 8)
};
TORCH_MODULE(MemoryAttention);

}  // namespace engram::lm
