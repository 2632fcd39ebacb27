// lm/generator.cc — incremental decoding.
#include "lm/generator.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "engram/error.h"
#include "lm/checkpoint.h"
#include "lm/language_model.h"

namespace engram::lm {

namespace {
// splitmix64: a tiny, fully specified generator, so a seed means the same text everywhere.
double next_uniform(uint64_t* s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return (z >> 11) * (1.0 / 9007199254740992.0);
}
}  // namespace

int sample_token(const std::vector<float>& logits, const GenerateOptions& o, uint64_t* rng) {
  const int V = static_cast<int>(logits.size());
  if (o.temperature <= 0.0f)
    return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  std::vector<int> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
  int keep = (o.top_k > 0) ? std::min(o.top_k, V) : V;
  std::vector<double> p(keep);
  const double mx = logits[order[0]];
  double sum = 0;
  for (int i = 0; i < keep; ++i) sum += p[i] = std::exp((logits[order[i]] - mx) / o.temperature);
  if (o.top_p < 1.0f) {
    double c = 0;
    int n = 0;
    while (n < keep) {
      c += p[n++] / sum;
      if (c >= o.top_p) break;
    }
    keep = std::max(1, n);
    sum = std::accumulate(p.begin(), p.begin() + keep, 0.0);
  }
  double r = next_uniform(rng) * sum;
  for (int i = 0; i < keep; ++i) {
    r -= p[i];
    if (r <= 0) return order[i];
  }
  return order[keep - 1];
}

namespace {
// The slots the last position of a trace read, best weight first as the memory ranked them.
std::vector<SlotRead> last_read(const Trace& t) {
  std::vector<SlotRead> out;
  if (!t.read_ids.defined()) return out;
  auto ids = t.read_ids[0][-1].to(torch::kCPU).contiguous();                      // [k]
  auto alpha = t.read_alpha[0][-1].to(torch::kCPU, torch::kFloat).contiguous();   // [k]
  for (int64_t i = 0; i < ids.numel(); ++i) {
    const int64_t id = ids.data_ptr<int64_t>()[i];
    if (id >= 0) out.push_back({static_cast<uint64_t>(id), alpha.data_ptr<float>()[i]});
  }
  return out;
}
}  // namespace

std::vector<int> generate_ids(LanguageModel& lm, const std::vector<int>& prompt,
                              const GenerateOptions& o, MemoryInterface* memory, int prefix,
                              std::vector<std::vector<SlotRead>>* reads) {
  LoadedModel& m = lm.loaded();
  Gpt model = m.model;
  model->eval();
  torch::NoGradGuard no_grad;
  const int bs = m.cfg.block_size;
  std::vector<int> ids = prompt;
  if (ids.empty()) ids.push_back(m.tokenizer->eos_id() >= 0 ? m.tokenizer->eos_id() : 0);
  uint64_t rng = o.seed;
  ModelCache cache;
  std::vector<SlotRead> read;  // what the last position fed read
  auto feed = [&](const std::vector<int>& toks, int pre = 0) {  // → logits of the last position
    std::vector<int64_t> v(toks.begin(), toks.end());
    auto x = torch::tensor(v, torch::kLong).view({1, -1}).to(m.device);  // [1, n]
    torch::Tensor p;
    if (pre > 0) p = torch::full({1}, pre, torch::kLong);
    const Trace t = model->trace(x, memory, &cache, false, p);
    if (reads != nullptr) read = last_read(t);
    auto logits = model->output(t);                                     // [1, n, V]
    auto last = logits[0][-1].to(torch::kCPU, torch::kFloat).contiguous();  // [V]
    return std::vector<float>(last.data_ptr<float>(), last.data_ptr<float>() + last.numel());
  };
  // A prompt longer than the model's positions keeps its most recent half-window.
  auto window = [&] {
    cache.clear();
    const std::size_t keep = std::min<std::size_t>(ids.size(), bs / 2 > 0 ? bs / 2 : 1);
    return feed(std::vector<int>(ids.end() - keep, ids.end()));
  };
  // (A prompt that does not fit loses its start, and with it any prefix.)
  std::vector<float> logits = ids.size() > static_cast<std::size_t>(bs) ? window() : feed(ids, prefix);
  std::vector<int> out;
  for (int i = 0; i < o.max_new_tokens; ++i) {
    const int next = sample_token(logits, o, &rng);
    out.push_back(next);
    if (reads != nullptr) reads->push_back(read);
    ids.push_back(next);
    if (o.stop_at_eos && next == m.tokenizer->eos_id()) break;
    if (i + 1 == o.max_new_tokens) break;
    logits = cache.length() + 1 > bs ? window() : feed({next});
  }
  return out;
}

std::string continuation_text(const Tokenizer& tok, const std::vector<int>& ids, const std::vector<int>& out) {
  // Decoded on its own a continuation loses its leading space ("▁1734" → "1734"): decode the
  // whole text and keep what follows the prompt's own decoding.
  std::vector<int> all = ids;
  all.insert(all.end(), out.begin(), out.end());
  const std::string head = tok.decode(ids), whole = tok.decode(all);
  if (whole.compare(0, head.size(), head) == 0) return whole.substr(head.size());
  return tok.decode(out);
}

std::string generate_text(LanguageModel& lm, const std::string& prompt, const GenerateOptions& o,
                          MemoryInterface* memory) {
  const std::vector<int> ids = lm.tokenizer().encode(prompt);
  return continuation_text(lm.tokenizer(), ids, generate_ids(lm, ids, o, memory));
}

}  // namespace engram::lm
