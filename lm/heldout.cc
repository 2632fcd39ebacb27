// lm/heldout.cc — held-out documents, segment by segment.
#include "lm/heldout.h"

namespace engram::lm {

int64_t score_heldout(LoadedModel& m, const std::vector<Document>& docs, int64_t max_tokens,
                      MemoryInterface* memory, bool store, const SegmentFn& fn) {
  torch::NoGradGuard no_grad;
  m.model->eval();
  const int T = m.cfg.block_size;
  int64_t scored = 0;
  for (const auto& d : docs) {
    const std::vector<int> ids = m.tokenizer->encode(d.text);
    std::vector<SlotId> held;
    for (std::size_t s = 0; s + T + 1 <= ids.size() && scored + T <= max_tokens; s += T) {
      auto x = torch::empty({1, T}, torch::kLong), y = torch::empty({1, T}, torch::kLong);  // [1, T]
      for (int t = 0; t < T; ++t) {
        x[0][t] = ids[s + t];
        y[0][t] = ids[s + t + 1];
      }
      const Trace trace = m.model->trace(x.to(m.device), memory, nullptr, store);
      fn(trace, y.to(m.device));
      scored += T;
      const MemorySlots& slots = trace.slots;
      if (store && memory != nullptr && slots.keys.defined() && slots.keys.size(1) > 0) {
        const int64_t dk = slots.keys.size(-1);
        auto k = slots.keys.to(torch::kCPU, torch::kFloat).reshape({-1, dk}).contiguous();    // [T', dk]
        auto v = slots.values.to(torch::kCPU, torch::kFloat).reshape({-1, dk}).contiguous();  // [T', dv]
        auto got = memory->insert(MatrixView(k.data_ptr<float>(), k.size(0), dk),
                                  MatrixView(v.data_ptr<float>(), v.size(0), dk));
        held.insert(held.end(), got.begin(), got.end());
      }
    }
    if (!held.empty()) memory->erase(held);
    if (scored + T > max_tokens) break;
  }
  return scored;
}

}  // namespace engram::lm
