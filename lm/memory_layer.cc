// lm/memory_layer.cc — the memory-attention sublayer.
#include "lm/memory_layer.h"

#include <cmath>
#include <limits>
#include <memory>

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
}

torch::Tensor MemoryAttentionImpl::queries(const torch::Tensor& h) {
  auto q = wq(ln(h));  // [B, T, dk]
  if (cfg.memory_cosine) q = q / (q.norm(2, -1, true) + 1e-6);
  return q;
}

MemorySlots MemoryAttentionImpl::slots(const torch::Tensor& h) {
  auto x = ln(h);                                   // [B, T, C]
  auto k = cfg.tie_memory_qk ? wq(x) : wk(x);       // [B, T, dk]
  auto v = wv(x);                                   // [B, T, dv]
  if (cfg.memory_cosine) k = k / (k.norm(2, -1, true) + 1e-6);
  if (cfg.memory_shift_values) {
    const int64_t T = h.size(1);
    k = k.narrow(1, 0, T - 1);  // [B, T−1, dk]: contexts up to t
    v = v.narrow(1, 1, T - 1);  // [B, T−1, dv]: what came at t+1
  }
  return {k, v};
}

torch::Tensor MemoryAttentionImpl::attend(const torch::Tensor& q, const torch::Tensor& K,
                                          const torch::Tensor& V, const torch::Tensor& valid) {
  auto s = torch::bmm(K, q.unsqueeze(2)).squeeze(2);  // [N, k]
  if (cfg.memory_cosine)
    s = s * log_scale.exp();
  else
    s = s / std::sqrt(static_cast<double>(q.size(-1)));
  s = s.masked_fill(valid.logical_not(), -std::numeric_limits<float>::infinity());
  auto alpha = torch::softmax(s, -1);                          // [N, k]
  // A row with no valid slot is all −inf → NaN after softmax: it reads nothing instead.
  alpha = torch::where(valid, alpha, torch::zeros_like(alpha));  // [N, k]
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

torch::Tensor MemoryAttentionImpl::forward(const torch::Tensor& h, MemoryInterface* memory) {
  if (memory == nullptr) return torch::zeros_like(h);
  // An empty memory has nothing to read (and is not asked: searching an empty index is a
  // corner case not worth a round trip to a remote memory).
  if (memory->count() == 0) return torch::zeros_like(h);
  const int64_t B = h.size(0), T = h.size(1), dk = cfg.mem_dim();
  auto q = queries(h).reshape({B * T, dk});  // [N, dk]
  auto q_cpu = q.detach().to(torch::kCPU, torch::kFloat).contiguous();
  auto res = std::make_shared<RetrieveResult>(
      memory->retrieve(MatrixView(q_cpu.data_ptr<float>(), B * T, dk), cfg.memory_k));
  if (res->key_dim != static_cast<std::size_t>(dk) || res->value_dim != static_cast<std::size_t>(dk))
    throw Error(ErrorCode::kInvalidArgument,
                "memory returned key_dim " + std::to_string(res->key_dim) + " / value_dim " +
                    std::to_string(res->value_dim) + " but the model's memory layer needs " +
                    std::to_string(dk));
  const int64_t N = B * T, k = static_cast<int64_t>(res->k);
  // The retrieved vectors are wrapped without a copy; the tensors keep the result alive.
  auto keep = [res](void*) {};
  auto f32 = torch::TensorOptions().dtype(torch::kFloat);
  auto K = torch::from_blob(res->keys.data(), {N, k, dk}, keep, f32);    // [N, k, dk]
  auto V = torch::from_blob(res->values.data(), {N, k, dk}, keep, f32);  // [N, k, dv]
  std::vector<uint8_t> ok(res->ids.size());
  for (std::size_t i = 0; i < ok.size(); ++i) ok[i] = res->ids[i] != kNoSlot;
  auto valid = torch::from_blob(ok.data(), {N, k}, torch::kUInt8).to(torch::kBool);  // [N, k]
  const auto dev = h.device();
  auto out = attend(q, K.to(dev), V.to(dev), valid.to(dev));  // [N, C]
  return out.view({B, T, -1});                                // [B, T, C]
}

}  // namespace engram::lm
