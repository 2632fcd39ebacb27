// lm/memory_layer.cc — the memory-attention sublayer.
#include "lm/memory_layer.h"

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "engram/error.h"
#include "engram/memory_interface.h"

namespace engram::lm {

MemoryAttentionImpl::MemoryAttentionImpl(const ModelConfig& c) : cfg(c) {
  const int d = c.d_model, m = c.mem_dim();
  ln = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  wq = register_module("wq", torch::nn::Linear(torch::nn::LinearOptions(d, m).bias(false)));
  if (!c.tie_memory_qk)
    wk = register_module("wk", torch::nn::Linear(torch::nn::LinearOptions(d, m).bias(false)));
  wv = register_module("wv", torch::nn::Linear(torch::nn::LinearOptions(d, m).bias(false)));
  wo = register_module("wo", torch::nn::Linear(m, d));
  gate = register_parameter("gate", torch::full({d}, c.gate_init));
  log_scale = register_parameter("log_scale", torch::full({}, std::log(c.memory_scale_init)));
  if (c.memory_knn) {
    // Offsets from λ = σ(10·max cos − 8): ≈ 0.88 for an exact key match (cos 1), ≈ 0.05 at
    // cos 0.5. Offsets (starting at 0) keep the shape when optimizers move scalars slowly.
    lam_w = register_parameter("lam_w", torch::zeros({}));
    lam_b = register_parameter("lam_b", torch::zeros({}));
  }
}

torch::Tensor MemoryAttentionImpl::queries(const torch::Tensor& h) {
  auto q = cfg.knn_key_hidden ? ln(h) : wq(ln(h));  // [B, T, dk]
  if (cfg.memory_cosine) q = q / (q.norm(2, -1, true) + 1e-6);
  return q;
}

MemorySlots MemoryAttentionImpl::slots(const torch::Tensor& h) {
  auto x = ln(h);                                   // [B, T, C]
  auto k = cfg.knn_key_hidden ? x : cfg.tie_memory_qk ? wq(x) : wk(x);  // [B, T, dk]
  auto v = wv(x);                                   // [B, T, dv]
  if (cfg.memory_cosine) k = k / (k.norm(2, -1, true) + 1e-6);
  if (cfg.memory_shift_values) {
    const int64_t T = h.size(1);
    k = k.narrow(1, 0, T - 1);  // [B, T−1, dk]: contexts up to t
    v = v.narrow(1, 1, T - 1);  // [B, T−1, dv]: what came at t+1
  }
  return {k, v};
}

torch::Tensor MemoryAttentionImpl::weights(const torch::Tensor& q, const torch::Tensor& K,
                                           const torch::Tensor& valid) {
  auto s = torch::bmm(K, q.unsqueeze(2)).squeeze(2);  // [N, k]
  if (cfg.memory_cosine)
    s = s * log_scale.exp();
  else
    s = s / std::sqrt(static_cast<double>(q.size(-1)));
  s = s.masked_fill(valid.logical_not(), -std::numeric_limits<float>::infinity());
  auto alpha = torch::softmax(s, -1);  // [N, k]
  // A row with no valid slot is all −inf → NaN after softmax: it reads nothing instead.
  return torch::where(valid, alpha, torch::zeros_like(alpha));  // [N, k]
}

torch::Tensor MemoryAttentionImpl::attend(const torch::Tensor& q, const torch::Tensor& K,
                                          const torch::Tensor& V, const torch::Tensor& valid) {
  return mix(weights(q, K, valid), V, valid);
}

torch::Tensor MemoryAttentionImpl::mix(const torch::Tensor& alpha, const torch::Tensor& V, const torch::Tensor& valid) {
  auto r = torch::bmm(alpha.unsqueeze(1), V).squeeze(1);        // [N, dv]
  auto out = gate * wo(r);                                      // [N, C]
  return torch::where(valid.any(-1, true), out, torch::zeros_like(out));
}

void MemoryAttentionImpl::check_memory(const MemoryInterface& memory) const {
  const MemoryConfig mc = memory.config();
  if (mc.key_dim != cfg.mem_dim() || mc.value_dim != cfg.mem_dim())
    throw Error(ErrorCode::kInvalidArgument,
                "memory has key_dim " + std::to_string(mc.key_dim) + " and value_dim " +
                    std::to_string(mc.value_dim) + " but the model's memory layer needs " +
                    std::to_string(cfg.mem_dim()) + " and " + std::to_string(cfg.mem_dim()));
}

namespace {
struct Retrieved {
  std::shared_ptr<RetrieveResult> res;
  torch::Tensor K, V, valid;  // [N, k, dk], [N, k, dv], [N, k] bool, on the CPU
  torch::Tensor ids;          // [N, k] int64, −1 for missing slots, on the CPU
};

Retrieved retrieve_for(MemoryInterface* memory, const torch::Tensor& q, int64_t N, int64_t dk, int k_req) {
  auto q_cpu = q.detach().to(torch::kCPU, torch::kFloat).contiguous();
  Retrieved r;
  r.res = std::make_shared<RetrieveResult>(
      memory->retrieve(MatrixView(q_cpu.data_ptr<float>(), N, dk), k_req));
  auto& res = r.res;
  if (res->key_dim != static_cast<std::size_t>(dk) || res->value_dim != static_cast<std::size_t>(dk))
    throw Error(ErrorCode::kInvalidArgument,
                "memory returned key_dim " + std::to_string(res->key_dim) + " / value_dim " +
                    std::to_string(res->value_dim) + " but the model's memory layer needs " +
                    std::to_string(dk));
  const int64_t k = static_cast<int64_t>(res->k);
  auto keep = [res](void*) {};
  auto f32 = torch::TensorOptions().dtype(torch::kFloat);
  r.K = torch::from_blob(res->keys.data(), {N, k, dk}, keep, f32);
  r.V = torch::from_blob(res->values.data(), {N, k, dk}, keep, f32);
  auto ok = torch::empty({N, k}, torch::kBool);
  auto ids = torch::empty({N, k}, torch::kLong);
  auto* okp = ok.data_ptr<bool>();
  auto* idp = ids.data_ptr<int64_t>();
  for (std::size_t i = 0; i < res->ids.size(); ++i) {
    okp[i] = res->ids[i] != kNoSlot;
    idp[i] = okp[i] ? static_cast<int64_t>(res->ids[i]) : -1;
  }
  r.valid = ok;
  r.ids = ids;
  return r;
}
}  // namespace

KnnRead MemoryAttentionImpl::knn(const torch::Tensor& h, MemoryInterface* memory) {
  KnnRead out;
  if (memory == nullptr || memory->count() == 0) return out;
  const int64_t B = h.size(0), T = h.size(1), dk = cfg.mem_dim();
  const int64_t N = B * T;
  auto q = queries(h).reshape({N, dk});  // [N, dk]
  Retrieved r = retrieve_for(memory, q, N, dk, cfg.memory_k);
  const auto dev = h.device();
  auto K = r.K.to(dev), valid = r.valid.to(dev);
  auto cos = torch::bmm(K, q.unsqueeze(2)).squeeze(2);  // [N, k]: gradient flows into q
  const float neg_inf = -std::numeric_limits<float>::infinity();
  auto any = valid.any(-1, true);                                            // [N, 1]
  auto maxcos = cos.masked_fill(valid.logical_not(), -2.0f).amax(-1, true);  // [N, 1]
  auto scale = knn_scale();
  torch::Tensor exact;
  if (cfg.readout.exact_cos > 0) {
    // A context the memory holds word for word: a sharper p_kNN and a fixed λ.
    exact = maxcos.detach() >= cfg.readout.exact_cos;  // [N, 1]
    scale = torch::where(exact, torch::full({}, cfg.readout.exact_scale, cos.options()), scale);
  }
  auto s = (cos * scale).masked_fill(valid.logical_not(), neg_inf);
  auto alpha = torch::softmax(s, -1);  // [N, k]
  alpha = torch::where(valid, alpha, torch::zeros_like(alpha));
  auto lam = knn_lambda(maxcos);
  if (exact.defined()) lam = torch::where(exact, torch::full({}, cfg.readout.exact_lambda, lam.options()), lam);
  lam = torch::where(any, lam, torch::zeros_like(lam));
  auto tok = r.V.select(2, 0).round().to(torch::kLong).clamp(0, cfg.vocab_size - 1);  // [N, k]
  tok = torch::where(r.valid, tok, torch::zeros_like(tok)).to(dev);
  out.alpha = alpha.view({B, T, -1});
  out.tokens = tok.view({B, T, -1});
  out.lambda = lam.view({B, T, 1});
  out.cos = cos.masked_fill(valid.logical_not(), -2.0f).view({B, T, -1});
  out.ids = r.ids.view({B, T, -1});
  return out;
}

torch::Tensor MemoryAttentionImpl::knn_scale() const {
  if (cfg.readout.scale > 0) return torch::full({}, cfg.readout.scale, log_scale.options()).detach();
  return log_scale.exp();
}

torch::Tensor MemoryAttentionImpl::knn_lambda(const torch::Tensor& maxcos) const {
  if (cfg.readout.lambda_slope > 0)
    return cfg.readout.lambda_max * torch::sigmoid(cfg.readout.lambda_slope * (maxcos - cfg.readout.lambda_center));
  return torch::sigmoid((lam_w + 10.0f) * maxcos + (lam_b - 8.0f));
}

torch::Tensor MemoryAttentionImpl::forward(const torch::Tensor& h, MemoryInterface* memory) {
  return read(h, memory).update;
}

MemoryRead MemoryAttentionImpl::read(const torch::Tensor& h, MemoryInterface* memory) {
  MemoryRead out;
  // An empty memory has nothing to read (and is not asked: searching an empty index is a
  // corner case not worth a round trip to a remote memory).
  if (memory == nullptr || memory->count() == 0) {
    out.update = torch::zeros_like(h);
    return out;
  }
  const int64_t B = h.size(0), T = h.size(1), dk = cfg.mem_dim();
  auto q = queries(h).reshape({B * T, dk});  // [N, dk]
  Retrieved r = retrieve_for(memory, q, B * T, dk, cfg.memory_k);
  const auto dev = h.device();
  auto K = r.K.to(dev), valid = r.valid.to(dev);
  auto alpha = weights(q, K, valid);                          // [N, k]
  out.update = mix(alpha, r.V.to(dev), valid).view({B, T, -1});  // [B, T, C]
  out.ids = r.ids.view({B, T, -1});   // [B, T, k]
  out.alpha = alpha.view({B, T, -1}); // [B, T, k]
  return out;
}

}  // namespace engram::lm
