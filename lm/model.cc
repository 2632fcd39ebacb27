// lm/model.cc — the decoder.
#include "lm/model.h"

#include "engram/error.h"
#include "engram/memory_interface.h"

namespace engram::lm {

GptImpl::GptImpl(const ModelConfig& c) : cfg(c) {
  validate(c);
  wte = register_module("wte", torch::nn::Embedding(c.vocab_size, c.d_model));
  wpe = register_module("wpe", torch::nn::Embedding(c.block_size, c.d_model));
  for (int i = 0; i < c.n_layer; ++i)
    blocks.push_back(register_module("block" + std::to_string(i), Block(c, i == c.memory_layer)));
  ln_f = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.d_model})));
  if (c.copy_head) copy = register_module("copy", CopyHead(c.d_model, c.copy_match));
  // GPT-2 style initialisation: small normal weights, output projections scaled by depth so
  // the residual stream does not grow with the number of blocks.
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    const std::string& name = p.key();
    auto& t = p.value();
    if (name.find("gate") != std::string::npos || name.find("log_scale") != std::string::npos ||
        name.find("lam_") != std::string::npos || name.find("beta") != std::string::npos)
      continue;
    if (name.find("ln") != std::string::npos && name.find(".weight") != std::string::npos) continue;
    if (name.size() > 5 && name.substr(name.size() - 5) == ".bias") {
      if (name.find("ln") == std::string::npos) t.zero_();
      continue;
    }
    const bool residual_out = name.find("proj.weight") != std::string::npos;
    t.normal_(0.0, residual_out ? 0.02 / std::sqrt(2.0 * c.n_layer) : 0.02);
  }
  // The copy gate starts mostly closed (σ(−2) ≈ 0.12): a fresh head must not swamp the LM.
  if (copy) copy->wg->bias.fill_(-2.0);
}

torch::Tensor GptImpl::forward(const torch::Tensor& idx, MemoryInterface* memory, ModelCache* cache,
                               const torch::Tensor& prefix) {
  return output(trace(idx, memory, cache, false, prefix));
}

torch::Tensor GptImpl::output(const Trace& t) const {
  const bool knn = cfg.memory_knn && t.knn.alpha.defined();
  if (!knn && !t.copy.defined()) return t.logits;
  auto p = torch::softmax(t.logits, -1);  // [B, T, V]
  if (t.copy.defined()) p = CopyHeadImpl::mix(p, t.copy);
  if (knn) {
    auto p_knn = torch::zeros_like(p).scatter_add(-1, t.knn.tokens, t.knn.alpha);  // [B, T, V]
    p = (1 - t.knn.lambda) * p + t.knn.lambda * p_knn;
  }
  return torch::log(p.clamp_min(1e-10));  // log-probabilities
}

Trace GptImpl::trace(const torch::Tensor& idx, MemoryInterface* memory, ModelCache* cache, bool want_slots,
                     const torch::Tensor& prefix) {
  const int64_t T = idx.size(1);
  const int64_t past = cache != nullptr ? cache->length() : 0;
  if (past + T > cfg.block_size)
    throw Error(ErrorCode::kInvalidArgument,
                "sequence of " + std::to_string(past + T) + " positions exceeds block_size " +
                    std::to_string(cfg.block_size));
  if (memory != nullptr && cfg.has_memory() && memory != checked_memory_) {
    // config() may be a network round trip for a remote memory: check each memory once.
    blocks[cfg.memory_layer]->memory->check_memory(*memory);
    checked_memory_ = memory;
  }
  if (cache != nullptr && cache->layers.size() != blocks.size()) cache->layers.resize(blocks.size());
  Trace t;
  auto pos = torch::arange(past, past + T, idx.options().dtype(torch::kLong));  // [T]
  auto h = wte(idx) + wpe(pos).unsqueeze(0);                                       // [B, T, C]
  for (int i = 0; i < static_cast<int>(blocks.size()); ++i) {
    LayerCache* c = cache != nullptr ? &cache->layers[i] : nullptr;
    if (i != cfg.memory_layer) {
      h = blocks[i]->forward(h, c, prefix);
      continue;
    }
    // The memory block: self-attention, the memory sublayer, the feed-forward network.
    Block& b = blocks[i];
    h = b->attend(h, c, prefix);
    // Slots come from the stream the sublayer reads, before its own update, so that a key
    // depends on nothing retrieved: ingestion then needs no memory at all.
    if (want_slots) t.slots = b->memory->slots(h);
    if (cfg.memory_knn) {
      t.knn = b->memory->knn(h, memory);  // mixed into the output distribution (output())
      t.read_ids = t.knn.ids;
      t.read_alpha = t.knn.alpha;
    } else {
      MemoryRead r = b->memory->read(h, memory);
      h = h + r.update;                   // [B, T, C]
      t.read_ids = r.ids;
      t.read_alpha = r.alpha;
    }
    h = b->feed_forward(h);
  }
  h = ln_f(h);                                      // [B, T, C]
  t.logits = torch::matmul(h, wte->weight.t());     // [B, T, V] (output tied to the embedding)
  if (copy) {
    // The passages to copy from: this pass's prefix (kept in the cache for the tokens that
    // follow it), or the cached one.
    CopySource src;
    if (prefix.defined() && past == 0) {
      src = copy->source(h, idx, prefix);
      if (cache != nullptr) cache->copy_source = src;
    } else if (cache != nullptr) {
      src = cache->copy_source;
    }
    // The tokens read so far: a decoding step's runs look back past its own token.
    torch::Tensor seen = idx;
    if (cache != nullptr) {
      if (past > 0 && cache->tokens.defined()) seen = torch::cat({cache->tokens, idx}, 1);
      cache->tokens = seen;
    }
    if (src.defined()) t.copy = copy->read(h, seen, src);
  }
  if (cfg.memory_knn && t.slots.keys.defined()) t.slots.values = knn_values(idx, cfg.mem_dim());
  return t;
}

torch::Tensor knn_values(const torch::Tensor& idx, int64_t dim) {
  const int64_t B = idx.size(0), T = idx.size(1);
  auto v = torch::zeros({B, std::max<int64_t>(T - 1, 0), dim}, torch::TensorOptions().dtype(torch::kFloat).device(idx.device()));
  if (T > 1) v.select(2, 0).copy_(idx.narrow(1, 1, T - 1).to(torch::kFloat));
  return v;  // [B, T−1, dim]: value[0] = the next token's id
}

torch::Tensor GptImpl::memory_stream(const torch::Tensor& idx) {
  if (!cfg.has_memory()) throw Error(ErrorCode::kInvalidArgument, "the model has no memory layer");
  const int64_t T = idx.size(1);
  if (T > cfg.block_size)
    throw Error(ErrorCode::kInvalidArgument, "segment longer than block_size");
  auto pos = torch::arange(0, T, idx.options().dtype(torch::kLong));  // [T]
  auto h = wte(idx) + wpe(pos).unsqueeze(0);                           // [B, T, C]
  for (int i = 0; i < cfg.memory_layer; ++i) h = blocks[i]->forward(h, nullptr);
  return blocks[cfg.memory_layer]->attend(h, nullptr);                 // [B, T, C]
}

MemorySlots GptImpl::encode_slots(const torch::Tensor& idx) {
  auto h = memory_stream(idx);  // checks has_memory() before blocks[memory_layer] is touched
  MemorySlots s = blocks[cfg.memory_layer]->memory->slots(h);
  if (cfg.memory_knn) s.values = knn_values(idx, cfg.mem_dim());
  return s;
}

torch::Tensor GptImpl::encode_queries(const torch::Tensor& idx) {
  auto h = memory_stream(idx);  // checks has_memory() before blocks[memory_layer] is touched
  return blocks[cfg.memory_layer]->memory->queries(h);  // [B, T, dk]
}

torch::Tensor trace_loss(const Trace& t, const torch::Tensor& targets) {
  const KnnRead& r = t.knn;
  if (!r.alpha.defined() && !t.copy.defined()) return lm_loss(t.logits, targets);
  auto scored = targets.ge(0).to(t.logits.dtype());                                // [B, T]
  auto y = targets.clamp_min(0).unsqueeze(-1);                                      // [B, T, 1]
  auto p = torch::log_softmax(t.logits, -1).gather(-1, y).squeeze(-1).exp();      // [B, T] p_LM(y)
  if (t.copy.defined()) {
    auto [p_copy, g] = CopyHeadImpl::at_targets(t.copy, y.squeeze(-1));           // [B, T], [B, T]
    p = (1 - g) * p + g * p_copy;
  }
  if (r.alpha.defined()) {
    auto p_knn = (r.alpha * r.tokens.eq(y).to(r.alpha.dtype())).sum(-1);           // [B, T]
    auto lam = r.lambda.squeeze(-1);                                                // [B, T]
    p = (1 - lam) * p + lam * p_knn;
  }
  auto nll = -torch::log(p.clamp_min(1e-10));                                       // [B, T]
  return (nll * scored).sum() / scored.sum().clamp_min(1);
}

torch::Tensor lm_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  const int64_t V = logits.size(-1);
  // Skipped targets are −100, cross-entropy's ignore_index.
  return torch::cross_entropy_loss(logits.reshape({-1, V}), targets.reshape({-1}).masked_fill(targets.reshape({-1}).lt(0), -100), {},
                                   at::Reduction::Mean, -100);
}

}  // namespace engram::lm
