// lm/segment_runner.cc — a segment step with the memory.
#include "lm/segment_runner.h"

#include <torch/nn/utils/clip_grad.h>

namespace engram::lm {

torch::Tensor SegmentRunner::step_loss(const torch::Tensor& x, const torch::Tensor& y, MemorySlots* slots,
                                       const torch::Tensor& prefix) {
  Trace t = model_->trace(x, memory_, nullptr, memory_ != nullptr, prefix);
  *slots = std::move(t.slots);
  return trace_loss(t, y);
}

double SegmentRunner::run(const torch::Tensor& x, const torch::Tensor& y,
                          torch::optim::Optimizer* optimizer, double clip, const torch::Tensor& prefix) {
  MemorySlots slots;
  model_->train(optimizer != nullptr);
  torch::Tensor loss;
  if (optimizer != nullptr) {
    loss = step_loss(x, y, &slots, prefix);
    optimizer->zero_grad();
    loss.backward();
    if (clip > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), clip);
    optimizer->step();
  } else {
    torch::NoGradGuard no_grad;
    loss = step_loss(x, y, &slots, prefix);
  }
  if (memory_ != nullptr) store(slots);
  return loss.item<double>();
}

torch::Tensor SegmentRunner::nll(const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  model_->eval();
  Trace t = model_->trace(x, memory_, nullptr, memory_ != nullptr);
  auto logp = torch::log_softmax(model_->output(t), -1);                             // [B, T, V]
  auto out = -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1);                          // [B, T]
  if (memory_ != nullptr) store(t.slots);
  return out;
}

void SegmentRunner::store(const MemorySlots& s) {
  if (!store_ || !s.keys.defined() || s.keys.size(1) == 0) return;
  const int64_t dk = s.keys.size(-1);
  // The slots are constants from here on: detached, on the CPU, no gradient into the store.
  auto k = s.keys.detach().to(torch::kCPU, torch::kFloat).reshape({-1, dk}).contiguous();    // [B·T', dk]
  auto v = s.values.detach().to(torch::kCPU, torch::kFloat).reshape({-1, dk}).contiguous();  // [B·T', dv]
  auto ids = memory_->insert(MatrixView(k.data_ptr<float>(), k.size(0), dk),
                             MatrixView(v.data_ptr<float>(), v.size(0), dk));
  held_ += ids.size();
  batches_.push_back(std::move(ids));
}

void SegmentRunner::clear() { window(0); }

void SegmentRunner::window(std::size_t max_slots) {
  std::vector<SlotId> drop;
  while (!batches_.empty() && held_ > max_slots) {
    held_ -= batches_.front().size();
    drop.insert(drop.end(), batches_.front().begin(), batches_.front().end());
    batches_.pop_front();
  }
  if (!drop.empty() && memory_ != nullptr) memory_->erase(drop);
}

}  // namespace engram::lm
