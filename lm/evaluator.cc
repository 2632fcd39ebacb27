// lm/evaluator.cc — perplexity and fact recall, with and without the memory.
#include "lm/evaluator.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "engram/error.h"
#include "lm/checkpoint.h"
#include "lm/corpus.h"
#include "lm/device.h"
#include "lm/eval_setup.h"
#include "lm/fact_recall.h"
#include "lm/heldout.h"
#include "lm/ingest.h"
#include "lm/language_model.h"
#include "lm/memory_store.h"
#include "lm/passages.h"

namespace engram::lm {

namespace {

// exp(mean NLL) of held-out documents read in order (lm/heldout.h).
double perplexity(LoadedModel& m, const std::vector<Document>& docs, int64_t max_tokens,
                  MemoryInterface* memory, bool store, int64_t* scored) {
  double nll = 0;
  int64_t n = 0;
  *scored = score_heldout(m, docs, max_tokens, memory, store,
                          [&](const Trace& t, const torch::Tensor& y) {
                            auto logp = torch::log_softmax(m.model->output(t), -1);  // [1, T, V]
                            nll -= logp.gather(-1, y.unsqueeze(-1)).sum().item<double>();
                            n += y.numel();
                          });
  return std::exp(nll / std::max<int64_t>(n, 1));
}

// The same random subset of every aligned set (rows i of facts, rephrased, inverted).
void sample_facts(std::vector<std::vector<Fact>*> sets, int max_facts, std::mt19937_64& rng) {
  const std::size_t n = sets[0]->size();
  if (max_facts <= 0 || static_cast<std::size_t>(max_facts) >= n) return;
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  std::shuffle(idx.begin(), idx.end(), rng);
  idx.resize(max_facts);
  std::sort(idx.begin(), idx.end());
  for (auto* s : sets) {
    if (s->size() != n) continue;  // an unaligned set is sampled on its own below
    std::vector<Fact> kept;
    for (auto i : idx) kept.push_back((*s)[i]);
    *s = std::move(kept);
  }
  for (auto* s : sets)
    if (s->size() > static_cast<std::size_t>(max_facts)) {
      std::shuffle(s->begin(), s->end(), rng);
      s->resize(max_facts);
    }
}

double pct(int a, int n) { return 100.0 * a / std::max(n, 1); }

void report(const RecallResult& r, nlohmann::json& j, std::ostringstream& table, const std::string& title) {
  const std::string key = r.set == "exact" ? "recall" : r.set;
  j[key + "_with_memory"] = static_cast<double>(r.all.with_memory) / std::max(r.all.n, 1);
  j[key + "_without_memory"] = static_cast<double>(r.all.without_memory) / std::max(r.all.n, 1);
  table << title << " (" << r.all.n << ")\n"
        << "  exact match with memory           " << pct(r.all.with_memory, r.all.n) << " %\n"
        << "  exact match without memory        " << pct(r.all.without_memory, r.all.n) << " %\n";
  for (const auto& [rel, c] : r.relations) {
    j["relations"][rel][r.set] = {{"n", c.n},
                                  {"with_memory", static_cast<double>(c.with_memory) / std::max(c.n, 1)},
                                  {"without_memory", static_cast<double>(c.without_memory) / std::max(c.n, 1)}};
    table << "    " << std::left << std::setw(20) << rel << std::right << std::setw(5) << c.n << "  with "
          << std::setw(6) << pct(c.with_memory, c.n) << " %  without " << std::setw(6) << pct(c.without_memory, c.n)
          << " %\n";
  }
  table << "  examples (prompt | answer | generated):\n";
  for (const auto& e : r.examples) table << "    " << e << "\n";
}

}  // namespace

EvalReport run_eval(const EvalOptions& o) {
  const auto t_start = std::chrono::steady_clock::now();
  set_threads(o.threads);
  // Inputs first: a bad file fails before anything slow runs.
  std::vector<Fact> facts = read_facts(o.facts), rephrased, inverted;
  if (!o.rephrased.empty()) {
    rephrased = read_facts(o.rephrased);
    if (rephrased.size() != facts.size())
      throw Error(ErrorCode::kInvalidArgument, "eval: --rephrased must have one line per fact");
    for (std::size_t i = 0; i < facts.size(); ++i)
      if (rephrased[i].relation.empty()) rephrased[i].relation = facts[i].relation;
  } else {
    for (const auto& f : facts) {
      const std::string r = rephrase_prompt(f.prompt);
      if (!r.empty()) rephrased.push_back({r, f.answer, f.relation, ""});
    }
  }
  if (!o.inverted.empty()) inverted = read_inverted_facts(o.inverted);
  auto lm = LanguageModel::load(o.model, o.device);
  LoadedModel& m = lm->loaded();
  if (!m.cfg.has_memory()) throw Error(ErrorCode::kInvalidArgument, "eval: the model has no memory layer");
  const bool reads_passages = m.cfg.read_passages > 0 && m.passage_keys;
  std::mt19937_64 rng(o.seed);
  sample_facts({&facts, &rephrased, &inverted}, o.max_facts, rng);

  // The answer-token limit follows the longest answer.
  const int needed = answer_tokens_needed(*lm, {&facts, &rephrased, &inverted});
  int max_new = o.max_new_tokens > 0 ? o.max_new_tokens : needed;
  if (max_new < needed)
    std::fprintf(stderr, "eval: warning: --max-new-tokens %d is shorter than the longest answer (%d tokens): "
                         "those answers cannot match\n", max_new, needed);

  nlohmann::json j;
  std::ostringstream table;
  table << std::fixed << std::setprecision(3);
  j["sentence_segments"] = o.sentence_segments;
  j["corpus_packed"] = o.corpus_packed;
  j["max_new_tokens"] = max_new;
  j["reads_passages"] = reads_passages;

  // 1. The token memory holds (a slice of) the training corpus: kNN-LM memory and distractors.
  CorpusMemoryOptions co;
  co.text = o.text;
  co.max_slots = o.distractor_slots;
  co.packed = o.corpus_packed;
  co.db_dir = o.db;
  co.progress = o.progress;
  auto corpus = build_corpus_memory(*lm, co);
  Database& db = *corpus->db;
  auto memory = corpus->tokens;
  auto doc_memory = open_model_memory(db, "eval-doc", m.cfg, true);
  j["corpus_slots"] = corpus->corpus_slots;

  // 2. Held-out perplexity.
  std::vector<Document> held;
  if (!o.heldout.empty()) {
    held = read_documents({o.heldout});
    int64_t n = 0;
    const double p_none = perplexity(m, held, o.ppl_tokens, nullptr, false, &n);
    const double p_doc = perplexity(m, held, o.ppl_tokens, doc_memory.get(), true, &n);
    const double p_corpus = perplexity(m, held, o.ppl_tokens, memory.get(), false, &n);
    const double p_both = perplexity(m, held, o.ppl_tokens, memory.get(), true, &n);
    j["ppl_tokens"] = n;
    j["ppl_no_memory"] = p_none;
    j["ppl_doc_memory"] = p_doc;
    j["ppl_corpus_memory"] = p_corpus;
    j["ppl_corpus_and_doc_memory"] = p_both;
    j["ppl_ratio_corpus"] = p_corpus / p_none;
    j["ppl_ratio_corpus_and_doc"] = p_both / p_none;
    j["ppl_ratio_best"] = std::min({p_doc, p_corpus, p_both}) / p_none;
    table << "held-out perplexity (" << n << " tokens, each document read from its start)\n"
          << "  no memory                         " << p_none << "\n"
          << "  memory: the document so far       " << p_doc << "  (" << p_doc / p_none << "x)\n"
          << "  memory: training corpus           " << p_corpus << "  (" << p_corpus / p_none << "x)\n"
          << "  memory: corpus + document so far  " << p_both << "  (" << p_both / p_none << "x)\n";
  }
  j["seconds_perplexity"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

  // 3. Facts, as ordinary documents mixed with prose, in the memory the model answers from.
  const std::vector<Sentence> prose = prose_sentences({&held, &corpus->text_docs});
  std::vector<std::string> corpus_passages;
  if (reads_passages) {
    for (const auto& d : corpus->text_docs) {
      for (auto& p : passage_units(d)) corpus_passages.push_back(std::move(p));
      if (static_cast<int64_t>(corpus_passages.size()) >= o.distractor_slots) break;
    }
    if (static_cast<int64_t>(corpus_passages.size()) > o.distractor_slots) corpus_passages.resize(o.distractor_slots);
    std::set<std::string> asked;
    for (const auto* set : {&facts, &inverted})
      for (const Fact& f : *set) asked.insert(f.prompt);
    for (const auto& file : o.distractor_facts)
      for (const Fact& f : read_facts(file)) {
        if (asked.count(f.prompt) != 0)
          throw Error(ErrorCode::kInvalidArgument, "eval: the distractor fact '" + f.prompt + "' (" + file + ") is asked");
        corpus_passages.push_back(fact_statement(f));
      }
  }
  IngestOptions io;
  io.progress = o.progress;
  io.sentence_segments = o.sentence_segments;
  // A memory holding the corpus and `set`'s fact documents: passages for a reading model, the
  // token memory otherwise. Returns the memory's slots and fact slots.
  std::shared_ptr<Memory> passages;
  auto load_facts = [&](const std::vector<Fact>& set, const std::string& name) -> std::pair<int64_t, int64_t> {
    auto docs = make_fact_documents(set, prose, rng, o.facts_per_paragraph, 6);
    if (o.progress) std::fprintf(stderr, "ingesting %zu facts in %zu documents (%s)\n", set.size(), docs.size(), name.c_str());
    if (reads_passages) {
      passages = open_passage_memory(db, passage_memory_name(name), m.passage_keys->dim(), true);
      store_passages(*passages, *m.passage_keys, corpus_passages);
      std::vector<std::string> units;
      for (const auto& d : docs)
        for (auto& p : passage_units(d)) units.push_back(std::move(p));
      const int64_t n = store_passages(*passages, *m.passage_keys, units);
      return {static_cast<int64_t>(passages->count()), n};
    }
    const IngestReport fr = ingest_documents(*lm, docs, *memory, io);
    return {static_cast<int64_t>(memory->count()), fr.inserted};
  };
  std::ofstream jsonl;
  if (!o.out.empty()) {
    jsonl.open(o.out, std::ios::trunc);
    if (!jsonl) throw Error(ErrorCode::kIOError, "eval: cannot write " + o.out);
  }
  RecallOptions ro;
  ro.max_new_tokens = max_new;
  ro.progress = o.progress;
  ro.jsonl = o.out.empty() ? nullptr : &jsonl;

  const auto t_facts = std::chrono::steady_clock::now();
  const auto [slots, fact_slots] = load_facts(facts, "eval");
  j["facts"] = facts.size();
  j["fact_document_slots"] = fact_slots;
  j["memory_slots"] = slots;
  j["other_slots"] = slots - fact_slots;
  j["token_memory_slots"] = memory->count();
  table << "fact recall (" << facts.size() << " unseen facts; " << (reads_passages ? "passage memory of " : "memory of ")
        << slots << " slots, " << slots - fact_slots << " of them unrelated text";
  if (reads_passages) table << "; token memory of " << memory->count() << " slots";
  table << ")\n";
  const RecallResult exact = score_facts(*lm, "exact", facts, passages.get(), memory.get(), ro);
  report(exact, j, table, "asked as stated");
  if (!rephrased.empty()) report(score_facts(*lm, "rephrased", rephrased, passages.get(), memory.get(), ro), j, table,
                                 "asked in other words");
  if (!inverted.empty()) {
    // Its own memory: the subject-first statements of --facts must not be there to be found.
    if (!reads_passages) memory = open_model_memory(db, "eval-inverted", m.cfg, true);
    j["inverted_memory_slots"] = load_facts(inverted, "eval-inverted").first;
    report(score_facts(*lm, "inverted", inverted, passages.get(), memory.get(), ro), j, table,
           "stated object first, asked subject first");
  }
  j["seconds_facts"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_facts).count();
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  passages.reset();
  memory.reset();
  doc_memory.reset();
  return {j.dump(), table.str()};
}

}  // namespace engram::lm
