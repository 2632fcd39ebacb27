// lm/tuner.cc — grid search of the kNN read-out on dev facts and validation text.
#include "lm/tuner.h"

#include <unistd.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "engram/database.h"
#include "engram/error.h"
#include "lm/checkpoint.h"
#include "lm/corpus.h"
#include "lm/device.h"
#include "lm/eval_setup.h"
#include "lm/heldout.h"
#include "lm/ingest.h"
#include "lm/language_model.h"
#include "lm/memory_store.h"

namespace engram::lm {

namespace fs = std::filesystem;

namespace {

// What one scored position needs to be re-scored under any read-out.
struct Pos {
  int target = 0;
  float p_target = 0;            // p_LM(target)
  int lm_top = 0;                // argmax p_LM
  float p_top = 0;
  std::vector<float> cos;        // [k], −2 for a missing slot
  std::vector<int> tok;          // [k]
  std::vector<float> p_tok;      // [k] p_LM(tok) (recall positions only)
  float maxcos = -2;
};

struct Readout {
  float scale = 0, slope = 0, center = 0, lmax = 1;
  int k = 0;  // slots that vote (the k best retrieved; 0: all that were recorded)
  std::string name() const {
    std::ostringstream s;
    s << "k " << k << ", scale " << scale << ", lambda = " << lmax << "*sigmoid(" << slope << "*(maxcos-" << center << "))";
    return s.str();
  }
};

float lambda_of(const Readout& r, float maxcos) {
  if (maxcos < -1.5f) return 0.0f;  // nothing retrieved
  // Clamped: expf's overflow path (errno) is ten times slower, and the grid calls this billions
  // of times; σ is 0 or 1 to float precision out there anyway.
  const float z = std::clamp(-r.slope * (maxcos - r.center), -80.0f, 80.0f);
  return r.lmax / (1.0f + std::exp(z));
}

// Appends the positions (b, t) with a target ≥ 0 from a forward pass's kNN parts.
void collect_parts(const Trace& parts, const std::vector<std::vector<int>>& targets, bool with_lm_tokens,
                   std::vector<Pos>* out) {
  if (!parts.knn.cos.defined()) throw Error(ErrorCode::kFailedPrecondition, "tune: nothing was retrieved");
  auto p = torch::softmax(parts.logits.to(torch::kFloat), -1).to(torch::kCPU).contiguous();  // [B, L, V]
  auto cos = parts.knn.cos.to(torch::kCPU).contiguous();                                      // [B, L, k]
  auto tok = parts.knn.tokens.to(torch::kCPU).contiguous();                                   // [B, L, k]
  auto top = p.max(-1);                                                                           // ([B, L], [B, L])
  auto pt = std::get<0>(top).contiguous(), it = std::get<1>(top).contiguous();
  const int64_t L = p.size(1), V = p.size(2), k = cos.size(2);
  const float* pp = p.data_ptr<float>();
  const float* cp = cos.data_ptr<float>();
  const int64_t* tp = tok.data_ptr<int64_t>();
  for (std::size_t b = 0; b < targets.size(); ++b)
    for (int64_t t = 0; t < L && t < static_cast<int64_t>(targets[b].size()); ++t) {
      const int y = targets[b][t];
      if (y < 0) continue;
      const int64_t row = static_cast<int64_t>(b) * L + t;
      Pos q;
      q.target = y;
      q.p_target = pp[row * V + y];
      q.lm_top = static_cast<int>(it.data_ptr<int64_t>()[row]);
      q.p_top = pt.data_ptr<float>()[row];
      q.cos.assign(cp + row * k, cp + (row + 1) * k);
      q.tok.assign(tp + row * k, tp + (row + 1) * k);
      if (with_lm_tokens)
        for (int64_t j = 0; j < k; ++j) q.p_tok.push_back(pp[row * V + q.tok[j]]);
      q.maxcos = *std::max_element(q.cos.begin(), q.cos.end());
      out->push_back(std::move(q));
    }
}

// Runs the model over x [B, L] and appends its positions.
void collect(LoadedModel& m, MemoryInterface* memory, const torch::Tensor& x,
             const std::vector<std::vector<int>>& targets, bool with_lm_tokens, std::vector<Pos>* out) {
  collect_parts(m.model->trace(x.to(m.device), memory), targets, with_lm_tokens, out);
}

// Slots of a position that vote when k of them are retrieved: results come best first, so
// retrieving k is the first k of a larger retrieval.
std::size_t voters(const Pos& q, int k) {
  return k > 0 ? std::min(q.cos.size(), static_cast<std::size_t>(k)) : q.cos.size();
}

// softmax(scale·cos) over the valid slots among the first k of a position (0 beyond them).
void knn_weights(const Pos& q, float scale, int k, std::vector<float>* a) {
  a->assign(q.cos.size(), 0.0f);
  if (q.maxcos < -1.5f) return;
  double z = 0;
  for (std::size_t j = 0; j < voters(q, k); ++j)
    if (q.cos[j] > -1.5f) z += (*a)[j] = std::exp(scale * (q.cos[j] - q.maxcos));
  for (auto& v : *a) v = static_cast<float>(v / z);
}

struct Score {
  double ppl = 0, recall = 0;
};

// The validation text's positions, read with the corpus (and the document so far) in memory.
std::vector<Pos> validation_positions(LoadedModel& m, const TuneOptions& o, MemoryInterface* memory,
                                      std::vector<Document>* valid_docs) {
  std::vector<Pos> ppl_pos;
  if (o.valid.empty()) return ppl_pos;
  *valid_docs = read_documents({o.valid});
  score_heldout(m, *valid_docs, o.ppl_tokens, memory, o.doc_memory, [&](const Trace& parts, const torch::Tensor& y) {
    auto yc = y.to(torch::kCPU);
    std::vector<std::vector<int>> t(1);
    for (int64_t i = 0; i < yc.size(1); ++i) t[0].push_back(static_cast<int>(yc[0][i].item<int64_t>()));
    collect_parts(parts, t, false, &ppl_pos);
  });
  if (o.progress) std::fprintf(stderr, "tune: %zu validation positions\n", ppl_pos.size());
  return ppl_pos;
}

// The answer positions of the dev facts, ingested as documents among the distractors.
struct FactPositions {
  std::vector<Pos> pos;
  std::vector<int> fact_of;  // fact index of each position
  int used = 0;              // facts with usable answer positions
};

FactPositions fact_positions(LanguageModel& lm, const TuneOptions& o, MemoryInterface& memory,
                             const std::vector<Fact>& facts, const std::vector<Sentence>& prose, std::mt19937_64& rng) {
  LoadedModel& m = lm.loaded();
  auto fact_docs = make_fact_documents(facts, prose, rng, o.facts_per_paragraph, 6);
  IngestOptions io;
  io.progress = o.progress;
  io.sentence_segments = true;
  ingest_documents(lm, fact_docs, memory, io);
  FactPositions r;
  for (std::size_t i = 0; i < facts.size(); ++i) {
    const auto prompt = m.tokenizer->encode(facts[i].prompt);
    // The answer tokens as the fact's sentence has them (with its period: "6." may be one
    // piece): greedy decoding must produce these up to the answer's last character.
    auto full = m.tokenizer->encode(facts[i].prompt + " " + facts[i].answer + ".");
    if (prompt.empty() || full.size() <= prompt.size() ||
        !std::equal(prompt.begin(), prompt.end(), full.begin()))
      continue;
    std::size_t n_ans = prompt.size();
    while (n_ans < full.size()) {
      ++n_ans;
      std::string cont = m.tokenizer->decode(std::vector<int>(full.begin() + prompt.size(), full.begin() + n_ans));
      cont.erase(0, cont.find_first_not_of(' '));
      if (cont.size() >= facts[i].answer.size()) break;
    }
    full.resize(n_ans);
    if (full.size() - 1 > static_cast<std::size_t>(m.cfg.block_size)) continue;
    const int64_t L = static_cast<int64_t>(full.size()) - 1;
    auto x = torch::empty({1, L}, torch::kLong);
    std::vector<std::vector<int>> y(1, std::vector<int>(L, -1));
    for (int64_t t = 0; t < L; ++t) x[0][t] = full[t];
    for (std::size_t t = prompt.size() - 1; t + 1 < full.size(); ++t) y[0][t] = full[t + 1];
    const std::size_t before = r.pos.size();
    collect(m, &memory, x, y, true, &r.pos);
    r.fact_of.insert(r.fact_of.end(), r.pos.size() - before, r.used);
    ++r.used;
  }
  if (o.progress) std::fprintf(stderr, "tune: %d dev facts (%zu answer positions)\n", r.used, r.pos.size());
  if (r.used == 0) throw Error(ErrorCode::kInvalidArgument, "tune: no usable dev facts in " + o.facts);
  return r;
}

// The read-out the model learned, in the grid's terms.
Readout learned_readout(LoadedModel& m) {
  auto& mem_layer = m.model->blocks[m.cfg.memory_layer]->memory;
  Readout learned;
  learned.scale = mem_layer->log_scale.exp().item<float>();
  learned.slope = 10.0f + mem_layer->lam_w.item<float>();
  learned.center = (8.0f - mem_layer->lam_b.item<float>()) / learned.slope;
  learned.lmax = 1.0f;
  return learned;
}

// Stores the chosen read-out in the model's config.json.
void write_readout(const std::string& dir, ModelConfig c, const Readout& r, float exact_cos, float exact_scale,
                   float exact_lambda) {
  c.readout.scale = r.scale;
  c.readout.lambda_slope = r.slope;
  c.readout.lambda_center = r.center;
  c.readout.lambda_max = r.lmax;
  c.readout.exact_cos = exact_cos;
  c.readout.exact_scale = exact_scale;
  c.readout.exact_lambda = exact_lambda;
  c.memory_k = r.k;
  update_model_config(dir, c);
}

// A read-out of the grid and what it scores.
struct Result {
  Readout r;
  float exact_cos = 0, exact_scale = 0, exact_lambda = 0;  // exact_cos 0: no exact regime
  Score s;
};

struct GridOutcome {
  std::vector<Result> results;  // [0]: the learned read-out, as trained
  const Result* chosen = nullptr;
  const Result* best_ppl = nullptr;
};

// Every read-out of the grid scored from the recorded positions, without rerunning the model;
// the choice: the highest dev recall, then — within `recall_slack` of it — the lowest perplexity.
GridOutcome score_grid(const std::vector<Pos>& ppl_pos, const FactPositions& facts_at, const Readout& learned,
                       const std::vector<int>& ks, int learned_k, double recall_slack) {
  const std::vector<Pos>& fact_pos = facts_at.pos;
  const std::vector<int>& fact_of = facts_at.fact_of;
  const int used_facts = facts_at.used;
  GridOutcome out;
  std::vector<Result>& results = out.results;
  const std::vector<float> scales = {learned.scale, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
  const std::vector<float> slopes = {2, 5, 10, 20, 50, 100, 200, 500, 1000, 3000};
  const std::vector<float> centers = {0.0f, 0.2f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.85f, 0.9f, 0.95f, 0.98f, 0.99f, 0.995f, 0.999f};
  const std::vector<float> maxes = {0.02f, 0.05f, 0.1f, 0.2f, 0.3f, 0.5f, 0.7f, 0.9f, 0.95f, 0.99f, 1.0f};

  std::vector<Readout> lambdas = {learned};
  for (float sl : slopes)
    for (float c : centers)
      for (float mx : maxes) lambdas.push_back({0, sl, c, mx});

  // Per sharpness: p_kNN(target) of each position and p_kNN of each retrieved token.
  struct ScaleCache {
    std::vector<float> pk_ppl, pk_target;
    std::vector<std::vector<float>> pk_tok;
  };
  std::map<std::pair<float, int>, ScaleCache> caches;
  auto cache_for = [&](float scale, int k) -> const ScaleCache& {
    auto it = caches.find({scale, k});
    if (it != caches.end()) return it->second;
    ScaleCache c;
    std::vector<float> a;
    c.pk_ppl.resize(ppl_pos.size());
    for (std::size_t i = 0; i < ppl_pos.size(); ++i) {
      knn_weights(ppl_pos[i], scale, k, &a);
      float sum = 0;
      for (std::size_t j = 0; j < a.size(); ++j)
        if (ppl_pos[i].tok[j] == ppl_pos[i].target) sum += a[j];
      c.pk_ppl[i] = sum;
    }
    c.pk_tok.resize(fact_pos.size());
    c.pk_target.resize(fact_pos.size());
    for (std::size_t i = 0; i < fact_pos.size(); ++i) {
      const Pos& q = fact_pos[i];
      knn_weights(q, scale, k, &a);
      c.pk_tok[i].assign(q.tok.size(), 0.0f);
      for (std::size_t j = 0; j < a.size(); ++j)
        for (std::size_t l = 0; l < a.size(); ++l)
          if (q.tok[l] == q.tok[j]) c.pk_tok[i][j] += a[l];
      float sum = 0;
      for (std::size_t j = 0; j < a.size(); ++j)
        if (q.tok[j] == q.target) sum += a[j];
      c.pk_target[i] = sum;
    }
    return caches.emplace(std::make_pair(scale, k), std::move(c)).first->second;
  };
  // Is the answer token the mixture's argmax at fact position i?
  auto fact_ok = [&](std::size_t i, float lam, const ScaleCache& c, int k) {
    const Pos& q = fact_pos[i];
    const double st = (1.0 - lam) * q.p_target + lam * c.pk_target[i];
    bool top_seen = q.lm_top == q.target;
    for (std::size_t j = 0; j < voters(q, k); ++j) {
      if (q.cos[j] < -1.5f || q.tok[j] == q.target) continue;
      if (q.tok[j] == q.lm_top) top_seen = true;
      if ((1.0 - lam) * q.p_tok[j] + lam * c.pk_tok[i][j] >= st) return false;
    }
    return top_seen || (1.0 - lam) * q.p_top < st;
  };
  const std::size_t words = (static_cast<std::size_t>(used_facts) + 63) / 64;
  using Bits = std::vector<uint64_t>;
  // The exact-context regime governs positions whose best cosine reaches its threshold; the
  // smooth read-out the rest. Positions fall in three bands by max cos: below 0.999, below
  // 0.9999, above; a smooth read-out is scored once per band and the bands are summed for
  // each threshold (none, 0.999, 0.9999).
  constexpr std::array<float, 2> kExactCuts = {0.999f, 0.9999f};
  auto band_of = [&](float maxcos) { return maxcos < kExactCuts[0] ? 0 : maxcos < kExactCuts[1] ? 1 : 2; };
  struct Part {
    Readout r;
    std::array<double, 3> nll{};  // by band
    std::array<Bits, 3> ok;       // facts whose answer positions in the band are all right
  };
  auto score_smooth = [&](const Readout& r) {
    Part p;
    p.r = r;
    for (auto& b : p.ok) b.assign(words, ~0ULL);
    const ScaleCache& c = caches.at({r.scale, r.k});
    for (std::size_t i = 0; i < ppl_pos.size(); ++i) {
      const float lam = lambda_of(r, ppl_pos[i].maxcos);
      // float log: the grid's hot loop; the sum stays in double.
      p.nll[band_of(ppl_pos[i].maxcos)] -=
          std::log(std::max(1e-10f, (1.0f - lam) * ppl_pos[i].p_target + lam * c.pk_ppl[i]));
    }
    for (std::size_t i = 0; i < fact_pos.size(); ++i) {
      const float lam = lambda_of(r, fact_pos[i].maxcos);
      if (!fact_ok(i, lam, c, r.k))
        p.ok[band_of(fact_pos[i].maxcos)][fact_of[i] / 64] &= ~(1ULL << (fact_of[i] % 64));
    }
    return p;
  };
  // The exact regime's (scale, λ) on the positions at or above `cut`: nll and facts all right.
  auto score_exact = [&](float scale, int k, float lam, float cut, double* nll, Bits* ok) {
    ok->assign(words, ~0ULL);
    const ScaleCache& c = caches.at({scale, k});
    for (std::size_t i = 0; i < ppl_pos.size(); ++i)
      if (ppl_pos[i].maxcos >= cut)
        *nll -= std::log(std::max(1e-10, (1.0 - lam) * ppl_pos[i].p_target + lam * c.pk_ppl[i]));
    for (std::size_t i = 0; i < fact_pos.size(); ++i)
      if (fact_pos[i].maxcos >= cut && !fact_ok(i, lam, c, k))
        (*ok)[fact_of[i] / 64] &= ~(1ULL << (fact_of[i] % 64));
  };
  const double n_ppl = std::max<std::size_t>(ppl_pos.size(), 1);
  auto recall_of = [&](const std::vector<const Bits*>& parts) {
    int64_t n = 0;
    for (std::size_t w = 0; w < words; ++w) {
      uint64_t x = ~0ULL;
      for (const Bits* b : parts) x &= (*b)[w];
      if (w + 1 == words && used_facts % 64) x &= (1ULL << (used_facts % 64)) - 1;
      n += __builtin_popcountll(x);
    }
    return static_cast<double>(n) / used_facts;
  };
  const std::vector<float> exact_scales = {100.0f, 1000.0f, 10000.0f};
  const std::vector<float> exact_lambdas = {0.5f, 0.7f, 0.9f, 0.95f, 0.99f};
  // Every (scale, k) p_kNN table first: the grid below then only reads them, on all threads.
  for (int k : ks) {
    for (float scale : scales) cache_for(scale, k);
    for (float es : exact_scales) cache_for(es, k);
  }
  cache_for(learned.scale, learned_k);
  std::vector<Readout> grid;
  {
    Readout l = learned;
    l.k = learned_k;
    grid.push_back(l);  // the learned read-out, as trained: the first result
  }
  for (int k : ks)
    for (float scale : scales)
      for (Readout r : lambdas) {
        r.scale = scale;
        r.k = k;
        grid.push_back(r);
      }
  std::vector<Part> smooth(grid.size());
  at::parallel_for(0, static_cast<int64_t>(grid.size()), 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) smooth[i] = score_smooth(grid[i]);
  });
  for (std::size_t ci = 0; ci <= kExactCuts.size(); ++ci) {
    const float exact_cos = ci == 0 ? 0.0f : kExactCuts[ci - 1];
    // Exact-regime parts per k: (scale, λ, nll, ok) on the positions >= exact_cos.
    struct ExactPart {
      float scale, lam;
      double nll = 0;
      Bits ok;
    };
    std::map<int, std::vector<ExactPart>> exact;
    if (exact_cos > 0)
      for (int k : ks)
        for (float es : exact_scales)
          for (float el : exact_lambdas) {
            ExactPart ep{es, el};
            score_exact(es, k, el, exact_cos, &ep.nll, &ep.ok);
            exact[k].push_back(std::move(ep));
          }
    for (const Part& sp : smooth) {
      // The smooth read-out governs the bands below the threshold: all three without an exact
      // regime, band 0 below 0.999, bands 0 and 1 below 0.9999.
      const std::size_t smooth_bands = ci == 0 ? 3 : ci;
      double nll = 0;
      std::vector<const Bits*> ok;
      for (std::size_t b = 0; b < smooth_bands; ++b) {
        nll += sp.nll[b];
        ok.push_back(&sp.ok[b]);
      }
      if (exact_cos == 0) {
        results.push_back({sp.r, 0, 0, 0, {std::exp(nll / n_ppl), recall_of(ok)}});
        continue;
      }
      ok.push_back(nullptr);  // the exact regime's share, below
      for (const auto& ep : exact[sp.r.k]) {
        ok.back() = &ep.ok;
        results.push_back({sp.r, exact_cos, ep.scale, ep.lam, {std::exp((nll + ep.nll) / n_ppl), recall_of(ok)}});
      }
    }
  }
  double best_recall = 0;
  for (const auto& x : results) best_recall = std::max(best_recall, x.s.recall);
  const Result* chosen = nullptr;
  const Result* best_ppl = nullptr;
  for (const auto& x : results) {
    if (!best_ppl || x.s.ppl < best_ppl->s.ppl) best_ppl = &x;
    if (x.s.recall + 1e-12 < best_recall - recall_slack) continue;
    if (!chosen || x.s.ppl < chosen->s.ppl) chosen = &x;
  }
  out.chosen = chosen;
  out.best_ppl = best_ppl;
  // The chosen setting's perplexity once more, position by position without the bands: the
  // banded bookkeeping above must agree with it.
  {
    double nll = 0;
    for (std::size_t i = 0; i < ppl_pos.size(); ++i) {
      const Pos& q = ppl_pos[i];
      const bool exact_regime = chosen->exact_cos > 0 && q.maxcos >= chosen->exact_cos;
      const float lam = exact_regime ? chosen->exact_lambda : lambda_of(chosen->r, q.maxcos);
      const ScaleCache& c = caches.at({exact_regime ? chosen->exact_scale : chosen->r.scale, chosen->r.k});
      nll -= std::log(std::max(1e-10f, (1.0f - lam) * q.p_target + lam * c.pk_ppl[i]));
    }
    const double direct = std::exp(nll / n_ppl);
    if (std::abs(direct - chosen->s.ppl) > 1e-4 * direct)
      throw Error(ErrorCode::kInternal, "tune: the chosen setting's perplexity is " + std::to_string(direct) +
                                            " scored directly but " + std::to_string(chosen->s.ppl) + " in the grid");
  }
  return out;
}

}  // namespace

namespace {

// One key choice tried: the grid scored with the memory's keys and queries made that way.
struct KeyTrial {
  bool key_hidden = false;
  GridOutcome grid;
  double ppl0 = 0;           // validation perplexity without the memory
  double exact_share = 0;    // dev facts whose every answer position found a (near) exact key
  int used_facts = 0;
  int64_t memory_slots = 0, corpus_slots = 0;
  std::size_t valid_tokens = 0;
};

// Sets where the model reads its kNN keys from (ModelConfig::knn_key_hidden) and how many slots
// vote, everywhere the running model keeps a copy of its config.
void set_knn_keys(LoadedModel& m, bool key_hidden, int k) {
  for (ModelConfig* c : {&m.cfg, &m.model->cfg, &m.model->blocks[m.cfg.memory_layer]->memory->cfg}) {
    c->knn_key_hidden = key_hidden;
    c->memory_k = k;
  }
}

KeyTrial try_keys(LanguageModel& lm, const TuneOptions& o, const std::vector<Fact>& facts, const std::vector<int>& ks,
                  int learned_k, bool key_hidden) {
  LoadedModel& m = lm.loaded();
  // Record the largest k of the grid; smaller ones are its prefixes.
  set_knn_keys(m, key_hidden, *std::max_element(ks.begin(), ks.end()));
  if (o.progress) std::fprintf(stderr, "tune: kNN keys %s\n", key_hidden ? "LN(h)" : "W_q LN(h)");
  std::mt19937_64 rng(o.seed + 1);
  // The same scratch memory as eval's (lm/eval_setup.h).
  CorpusMemoryOptions co;
  co.text = o.text;
  co.max_slots = o.distractor_slots;
  co.packed = o.corpus_packed;
  co.memory = key_hidden ? "tune-hidden" : "tune";
  co.progress = o.progress;
  auto corpus = build_corpus_memory(lm, co);
  auto memory = corpus->tokens;

  // 1. Validation perplexity positions, the corpus in the memory (as eval's "training corpus"),
  //    with the document so far added when doc_memory is set (eval's "corpus + document so far").
  std::vector<Document> valid_docs;
  const std::vector<Pos> ppl_pos = validation_positions(m, o, memory.get(), &valid_docs);
  // 2. Dev facts ingested as documents among the distractors; their answer positions.
  const std::vector<Sentence> prose = prose_sentences({&valid_docs, &corpus->text_docs});
  const FactPositions facts_at = fact_positions(lm, o, *memory, facts, prose, rng);
  // 3. The grid, and its choice.
  KeyTrial t;
  t.key_hidden = key_hidden;
  t.grid = score_grid(ppl_pos, facts_at, learned_readout(m), ks, learned_k, o.recall_slack);
  double nll0 = 0;
  for (const auto& q : ppl_pos) nll0 -= std::log(std::max(1e-10f, q.p_target));
  t.ppl0 = ppl_pos.empty() ? 0 : std::exp(nll0 / ppl_pos.size());
  std::vector<char> exact(facts_at.used, 1);
  for (std::size_t i = 0; i < facts_at.pos.size(); ++i)
    if (facts_at.pos[i].maxcos < 0.999f) exact[facts_at.fact_of[i]] = 0;
  t.exact_share = facts_at.used ? static_cast<double>(std::count(exact.begin(), exact.end(), 1)) / facts_at.used : 0;
  t.used_facts = facts_at.used;
  t.memory_slots = memory->count();
  t.corpus_slots = corpus->corpus_slots;
  t.valid_tokens = ppl_pos.size();
  return t;
}

}  // namespace

TuneReport tune_readout(const TuneOptions& o) {
  set_threads(o.threads);
  auto lm = LanguageModel::load(o.model, o.device);
  LoadedModel& m = lm->loaded();
  if (!m.cfg.memory_knn) throw Error(ErrorCode::kInvalidArgument, "tune: the model has no kNN read-out (--knn)");
  if (o.knn_keys.empty()) throw Error(ErrorCode::kInvalidArgument, "tune: no kNN key choice to try");
  for (const auto& k : o.knn_keys)
    if (k != "hidden" && k != "projected")
      throw Error(ErrorCode::kInvalidArgument, "tune: kNN keys are 'hidden' or 'projected', not '" + k + "'");
  if (m.cfg.mem_dim() != m.cfg.d_model && std::count(o.knn_keys.begin(), o.knn_keys.end(), "hidden"))
    throw Error(ErrorCode::kInvalidArgument, "tune: 'hidden' kNN keys need memory_dim = d_model");
  torch::NoGradGuard no_grad;
  m.model->eval();
  const std::vector<int> ks = o.ks.empty() ? std::vector<int>{m.cfg.memory_k} : o.ks;
  for (int k : ks)
    if (k < 1 || k > 4096) throw Error(ErrorCode::kInvalidArgument, "tune: every k must be in 1..4096");
  const ModelConfig trained = m.cfg;
  std::vector<Fact> facts = read_facts(o.facts);
  std::mt19937_64 rng(o.seed);
  std::shuffle(facts.begin(), facts.end(), rng);
  if (o.max_facts > 0 && static_cast<std::size_t>(o.max_facts) < facts.size()) facts.resize(o.max_facts);

  // Each key choice in turn; the best by the grid's own rule (dev recall, then perplexity).
  std::vector<KeyTrial> trials;
  for (const auto& k : o.knn_keys) trials.push_back(try_keys(*lm, o, facts, ks, trained.memory_k, k == "hidden"));
  const auto better = [&](const KeyTrial& a, const KeyTrial& b) {
    const Score &x = a.grid.chosen->s, &y = b.grid.chosen->s;
    if (std::abs(x.recall - y.recall) > o.recall_slack + 1e-12) return x.recall > y.recall;
    return x.ppl / a.ppl0 < y.ppl / b.ppl0;
  };
  const KeyTrial* best = &trials[0];
  for (const auto& t : trials)
    if (better(t, *best)) best = &t;

  nlohmann::json j;
  std::ostringstream table;
  table << std::fixed << std::setprecision(4);
  auto put = [&](const Result& x, double ppl0) {
    return nlohmann::json{{"memory_k", x.r.k}, {"knn_scale", x.r.scale}, {"knn_lambda_slope", x.r.slope},
                          {"knn_lambda_center", x.r.center}, {"knn_lambda_max", x.r.lmax},
                          {"knn_exact_cos", x.exact_cos}, {"knn_exact_scale", x.exact_scale},
                          {"knn_exact_lambda", x.exact_lambda}, {"dev_recall", x.s.recall}, {"valid_ppl", x.s.ppl},
                          {"valid_ppl_ratio", ppl0 > 0 ? x.s.ppl / ppl0 : 0.0}};
  };
  for (const auto& t : trials) {
    const char* name = t.key_hidden ? "hidden" : "projected";
    j["keys"][name] = {{"learned", put(t.grid.results[0], t.ppl0)},
                       {"chosen", put(*t.grid.chosen, t.ppl0)},
                       {"best_ppl", put(*t.grid.best_ppl, t.ppl0)},
                       {"dev_facts_exact_key", t.exact_share}};
    table << "read-out tuning, kNN keys " << name << (t.key_hidden ? " (LN(h))" : " (W_q LN(h))") << ": "
          << t.used_facts << " dev facts, memory of " << t.memory_slots << " slots (" << t.corpus_slots
          << " corpus); " << 100 * t.exact_share
          << " % of dev facts find an exact key (cos >= 0.999) at every answer token; " << t.valid_tokens
          << " validation tokens, no-memory ppl " << t.ppl0 << "\n";
    auto row = [&](const char* label, const Result& x) {
      table << "  " << label << ": dev recall " << 100 * x.s.recall << " %, valid ppl " << x.s.ppl << " ("
            << (t.ppl0 > 0 ? x.s.ppl / t.ppl0 : 0.0) << "x)  [" << x.r.name();
      if (x.exact_cos > 0)
        table << "; max cos >= " << x.exact_cos << ": scale " << x.exact_scale << ", lambda " << x.exact_lambda;
      table << "]\n";
    };
    row("learned ", t.grid.results[0]);
    row("chosen  ", *t.grid.chosen);
    row("best ppl", *t.grid.best_ppl);
  }
  const char* best_name = best->key_hidden ? "hidden" : "projected";
  j["dev_facts"] = best->used_facts;
  j["dev_facts_exact_key"] = best->exact_share;
  j["corpus_slots"] = best->corpus_slots;
  j["memory_slots"] = best->memory_slots;
  j["valid_tokens"] = best->valid_tokens;
  j["valid_ppl_no_memory"] = best->ppl0;
  j["knn_keys"] = best_name;
  j["learned"] = put(best->grid.results[0], best->ppl0);
  j["chosen"] = put(*best->grid.chosen, best->ppl0);
  j["best_ppl"] = put(*best->grid.best_ppl, best->ppl0);
  table << "chosen kNN keys: " << best_name << "\n";
  if (o.write) {
    ModelConfig c = trained;
    c.knn_key_hidden = best->key_hidden;
    if (o.copy_match > 0) c.copy_match = o.copy_match;
    const Result& r = *best->grid.chosen;
    write_readout(o.model, c, r.r, r.exact_cos, r.exact_scale, r.exact_lambda);
    table << "written to " << o.model << "/config.json\n";
  }
  return {j.dump(), table.str()};
}

}  // namespace engram::lm
