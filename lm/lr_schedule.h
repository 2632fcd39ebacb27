// lm/lr_schedule.h — linear warmup, then cosine decay to a floor.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace engram::lm {

inline double lr_at(int64_t step, int64_t total, int64_t warmup, double lr, double min_lr) {
  if (warmup > 0 && step < warmup) return lr * static_cast<double>(step + 1) / warmup;
  const double span = std::max<int64_t>(1, total - warmup);
  const double progress = std::clamp((step - warmup) / span, 0.0, 1.0);
  return min_lr + 0.5 * (lr - min_lr) * (1.0 + std::cos(M_PI * progress));
}

}  // namespace engram::lm
