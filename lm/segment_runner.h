// lm/segment_runner.h — one segment through the model with a dynamically updated memory:
// forward (reading the memory), optionally backward and an optimizer step, then the memory
// block's slots go into the memory for the segments that follow.
#pragma once

#include <torch/optim/optimizer.h>

#include <deque>
#include <vector>

#include "engram/memory_interface.h"
#include "lm/model.h"

namespace engram::lm {

class SegmentRunner {
 public:
  // `memory` may be null: the model then runs without its memory sublayer's reads and nothing
  // is stored. With `store` false the memory is only read (a static memory).
  SegmentRunner(Gpt model, MemoryInterface* memory, bool store = true)
      : model_(std::move(model)), memory_(memory), store_(store) {}

  // x, y [B, T] int64 on the model's device (y < 0: not scored). Returns the mean loss. With an
  // optimizer, takes one step (gradients clipped to `clip` in global norm). `prefix` as in
  // Gpt::forward.
  double run(const torch::Tensor& x, const torch::Tensor& y, torch::optim::Optimizer* optimizer,
             double clip, const torch::Tensor& prefix = {});

  // Per-token negative log-likelihoods [B, T] without a step (evaluation).
  torch::Tensor nll(const torch::Tensor& x, const torch::Tensor& y);

  // Removes every slot this runner inserted ("document" mode).
  void clear();
  // Removes the oldest batches of slots until at most `max_slots` remain ("window" mode).
  void window(std::size_t max_slots);
  std::size_t slots() const { return held_; }

 private:
  void store(const MemorySlots& s);
  torch::Tensor step_loss(const torch::Tensor& x, const torch::Tensor& y, MemorySlots* slots,
                          const torch::Tensor& prefix);

  Gpt model_;
  MemoryInterface* memory_;
  bool store_;
  std::deque<std::vector<SlotId>> batches_;
  std::size_t held_ = 0;
};

}  // namespace engram::lm
