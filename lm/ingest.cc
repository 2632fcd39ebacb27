// lm/ingest.cc — encode documents, store their slots.
#include "lm/ingest.h"

#include <chrono>
#include <cstdio>

#include "engram/error.h"
#include "engram/memory_interface.h"
#include "ingest/progress.h"
#include "lm/checkpoint.h"
#include "lm/language_model.h"
#include "lm/memory_store.h"

namespace engram::lm {


IngestReport ingest_documents(LanguageModel& lm, const std::vector<Document>& docs,
                              MemoryInterface& memory, const IngestOptions& o) {
  LoadedModel& m = lm.loaded();
  if (!m.cfg.has_memory())
    throw Error(ErrorCode::kInvalidArgument, "ingest: the model has no memory layer");
  m.model->blocks[m.cfg.memory_layer]->memory->check_memory(memory);
  const auto t0 = std::chrono::steady_clock::now();
  const int dim = m.cfg.mem_dim();
  const int shift = m.cfg.memory_shift_values ? 1 : 0;

  struct Item { const Document* doc; Segment seg; };
  std::vector<Item> items;
  for (const auto& d : docs)
    for (auto& s : o.sentence_segments ? sentence_segments(*m.tokenizer, d, m.cfg.block_size)
                                       : pack_segments(*m.tokenizer, d, m.cfg.block_size))
      items.push_back({&d, std::move(s)});

  IngestReport rep;
  rep.documents = static_cast<int64_t>(docs.size());
  torch::NoGradGuard no_grad;
  m.model->eval();
  const std::size_t bsz = static_cast<std::size_t>(std::max(1, o.batch));
  // A bar on a terminal, a line per 10 % otherwise (engram ingest's display, counting segments).
  using engram::ingest::Progress;
  Progress progress(o.progress ? Progress::Mode::kAuto : Progress::Mode::kQuiet, items.size(), 0, stderr, 5.0,
                    {"ingest", "segments", 10});
  for (std::size_t b0 = 0; b0 < items.size(); b0 += bsz) {
    const std::size_t b1 = std::min(items.size(), b0 + bsz);
    std::size_t L = 0;
    for (std::size_t i = b0; i < b1; ++i) L = std::max(L, items[i].seg.tokens.size());
    // Right padding: a causal model's real positions never see the padding after them.
    auto x = torch::zeros({static_cast<int64_t>(b1 - b0), static_cast<int64_t>(L)}, torch::kLong);  // [b, L]
    auto xa = x.accessor<int64_t, 2>();
    for (std::size_t i = b0; i < b1; ++i)
      for (std::size_t t = 0; t < items[i].seg.tokens.size(); ++t) xa[i - b0][t] = items[i].seg.tokens[t];
    MemorySlots s = m.model->encode_slots(x.to(m.device));
    auto keys = s.keys.to(torch::kCPU, torch::kFloat).contiguous();    // [b, L', dk]
    auto vals = s.values.to(torch::kCPU, torch::kFloat).contiguous();  // [b, L', dv]
    const int64_t Lp = keys.size(1);
    std::vector<float> k, v;
    std::vector<std::string> payloads;
    for (std::size_t i = b0; i < b1; ++i) {
      const Segment& seg = items[i].seg;
      const int64_t n = static_cast<int64_t>(seg.tokens.size()) - shift;  // real slots in this row
      for (int64_t t = 0; t < n && t < Lp; ++t) {
        const float* kp = keys.data_ptr<float>() + ((i - b0) * Lp + t) * dim;
        const float* vp = vals.data_ptr<float>() + ((i - b0) * Lp + t) * dim;
        k.insert(k.end(), kp, kp + dim);
        v.insert(v.end(), vp, vp + dim);
        payloads.push_back(items[i].doc->source + ":" + std::to_string(seg.offsets[t + shift]));
      }
      rep.tokens += static_cast<int64_t>(seg.tokens.size());
      ++rep.segments;
    }
    std::size_t rows = payloads.size();
    if (o.max_slots > 0 && rep.inserted + static_cast<int64_t>(rows) > o.max_slots) {
      rows = static_cast<std::size_t>(std::max<int64_t>(0, o.max_slots - rep.inserted));
      payloads.resize(rows);
    }
    const StoreResult r = store_slots(memory, k.data(), v.data(), rows, dim, payloads, o.refresh_threshold);
    rep.inserted += static_cast<int64_t>(r.inserted.size());
    rep.refreshed += static_cast<int64_t>(r.refreshed);
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    progress.update(b1, 0, std::to_string(rep.inserted) + " slots");
    if (o.max_slots > 0 && rep.inserted >= o.max_slots) break;
  }
  progress.finish();
  return rep;
}

}  // namespace engram::lm
