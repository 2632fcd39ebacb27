// lm/evaluator.cc — perplexity and fact recall, with and without the memory.
#include "lm/evaluator.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "engram/database.h"
#include "engram/error.h"
#include "lm/checkpoint.h"
#include "lm/corpus.h"
#include "lm/device.h"
#include "lm/generator.h"
#include "lm/heldout.h"
#include "lm/ingest.h"
#include "lm/language_model.h"
#include "lm/memory_store.h"
#include "lm/segment_runner.h"

namespace engram::lm {

namespace fs = std::filesystem;

bool exact_match(const std::string& cont, const std::string& answer) {
  std::size_t b = 0;
  while (b < cont.size() && std::isspace(static_cast<unsigned char>(cont[b]))) ++b;
  if (cont.compare(b, answer.size(), answer) != 0) return false;
  const std::size_t e = b + answer.size();
  return e == cont.size() || !std::isalnum(static_cast<unsigned char>(cont[e]));
}

namespace {

// exp(mean NLL) of held-out documents read in order (lm/heldout.h).
double perplexity(LoadedModel& m, const std::vector<Document>& docs, int64_t max_tokens,
                  MemoryInterface* memory, bool store, int64_t* scored) {
  double nll = 0;
  int64_t n = 0;
  *scored = score_heldout(m, docs, max_tokens, memory, store,
                          [&](const torch::Tensor& out, const KnnParts&, const torch::Tensor& y) {
                            auto logp = torch::log_softmax(out, -1);  // [1, T, V]
                            nll -= logp.gather(-1, y.unsqueeze(-1)).sum().item<double>();
                            n += y.numel();
                          });
  return std::exp(nll / std::max<int64_t>(n, 1));
}

struct Recall {
  int n = 0, with_memory = 0, without_memory = 0;
  std::vector<std::string> examples;
};

Recall recall(LanguageModel& lm, const std::vector<Fact>& facts, MemoryInterface* memory,
              int max_new, bool progress, const char* label) {
  Recall r;
  GenerateOptions g;
  g.max_new_tokens = max_new;
  g.temperature = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& f : facts) {
    const std::string with = generate_text(lm, f.prompt, g, memory);
    const std::string without = generate_text(lm, f.prompt, g, nullptr);
    ++r.n;
    r.with_memory += exact_match(with, f.answer);
    r.without_memory += exact_match(without, f.answer);
    if (r.examples.size() < 5)
      r.examples.push_back(f.prompt + " | " + f.answer + " | with: '" + with + "' | without: '" + without + "'");
    if (progress && (r.n % 50 == 0 || r.n == static_cast<int>(facts.size()))) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "\r%s: %d/%zu  with memory %.1f%%  without %.1f%%  (%.0fs)   ", label, r.n,
                   facts.size(), 100.0 * r.with_memory / r.n, 100.0 * r.without_memory / r.n, secs);
    }
  }
  if (progress) std::fprintf(stderr, "\n");
  return r;
}

}  // namespace

EvalReport run_eval(const EvalOptions& o) {
  set_threads(o.threads);
  auto lm = LanguageModel::load(o.model, o.device);
  LoadedModel& m = lm->loaded();
  if (!m.cfg.has_memory()) throw Error(ErrorCode::kInvalidArgument, "eval: the model has no memory layer");
  std::vector<Fact> facts = read_facts(o.facts);
  std::vector<Fact> rephrased;
  if (!o.rephrased.empty()) {
    rephrased = read_facts(o.rephrased);
    if (rephrased.size() != facts.size())
      throw Error(ErrorCode::kInvalidArgument, "eval: --rephrased must have one line per fact");
  } else {
    for (const auto& f : facts) {
      const std::string r = rephrase_prompt(f.prompt);
      if (!r.empty()) rephrased.push_back({r, f.answer});
    }
  }
  std::mt19937_64 rng(o.seed);
  if (o.max_facts > 0 && static_cast<std::size_t>(o.max_facts) < facts.size()) {
    std::vector<std::size_t> idx(facts.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::shuffle(idx.begin(), idx.end(), rng);
    idx.resize(o.max_facts);
    std::sort(idx.begin(), idx.end());
    std::vector<Fact> f2, r2;
    for (auto i : idx) {
      f2.push_back(facts[i]);
      if (rephrased.size() == facts.size()) r2.push_back(rephrased[i]);
    }
    facts = f2;
    rephrased = r2;
  }

  std::string db_dir = o.db;
  const bool temp_db = db_dir.empty();
  if (temp_db) db_dir = (fs::temp_directory_path() / ("engram-lm-eval-" + std::to_string(::getpid()))).string();
  if (temp_db) fs::remove_all(db_dir);
  auto db = Database::open(db_dir);
  auto memory = open_model_memory(*db, "eval", m.cfg, true);
  auto doc_memory = open_model_memory(*db, "eval-doc", m.cfg, true);

  nlohmann::json j;
  std::ostringstream table;
  table << std::fixed << std::setprecision(3);
  IngestOptions io;
  io.progress = o.progress;
  io.sentence_segments = o.sentence_segments;
  j["sentence_segments"] = o.sentence_segments;
  j["corpus_packed"] = o.corpus_packed;

  // 1. The memory holds (a slice of) the training corpus: kNN-LM memory and distractors.
  std::vector<Document> text_docs;
  if (!o.text.empty()) {
    text_docs = read_documents(o.text);
    io.max_slots = o.distractor_slots;
    io.sentence_segments = !o.corpus_packed;
    if (o.progress) std::fprintf(stderr, "ingesting the text corpus (up to %lld slots)\n", static_cast<long long>(o.distractor_slots));
    ingest_documents(*lm, text_docs, *memory, io);
  }
  const int64_t corpus_slots = static_cast<int64_t>(memory->count());
  j["corpus_slots"] = corpus_slots;

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

  // 3. Facts, as ordinary documents mixed with prose.
  std::vector<Sentence> prose;
  for (const auto* docs : {&held, &text_docs})
    for (const auto& d : *docs) {
      for (auto& s : split_sentences(d))
        if (s.text.size() < 300) prose.push_back(std::move(s));
      if (prose.size() > 20000) break;
    }
  auto fact_docs = make_fact_documents(facts, prose, rng, o.facts_per_paragraph, 6);
  if (o.progress) std::fprintf(stderr, "ingesting %zu facts in %zu documents\n", facts.size(), fact_docs.size());
  io.max_slots = 0;
  io.sentence_segments = o.sentence_segments;
  const IngestReport fr = ingest_documents(*lm, fact_docs, *memory, io);
  const int64_t total_slots = static_cast<int64_t>(memory->count());
  j["facts"] = facts.size();
  j["fact_document_slots"] = fr.inserted;
  j["memory_slots"] = total_slots;
  j["other_slots"] = corpus_slots;

  const Recall r = recall(*lm, facts, memory.get(), o.max_new_tokens, o.progress, "recall");
  j["recall_with_memory"] = static_cast<double>(r.with_memory) / std::max(r.n, 1);
  j["recall_without_memory"] = static_cast<double>(r.without_memory) / std::max(r.n, 1);
  table << "fact recall (" << r.n << " unseen facts; memory of " << total_slots << " slots, "
        << corpus_slots << " of them unrelated text)\n"
        << "  exact match with memory           " << 100.0 * r.with_memory / std::max(r.n, 1) << " %\n"
        << "  exact match without memory        " << 100.0 * r.without_memory / std::max(r.n, 1) << " %\n";
  if (!rephrased.empty()) {
    const Recall rr = recall(*lm, rephrased, memory.get(), o.max_new_tokens, o.progress, "rephrased");
    j["rephrased_with_memory"] = static_cast<double>(rr.with_memory) / std::max(rr.n, 1);
    j["rephrased_without_memory"] = static_cast<double>(rr.without_memory) / std::max(rr.n, 1);
    table << "rephrased-question recall (" << rr.n << ")\n"
          << "  exact match with memory           " << 100.0 * rr.with_memory / std::max(rr.n, 1) << " %\n"
          << "  exact match without memory        " << 100.0 * rr.without_memory / std::max(rr.n, 1) << " %\n";
  }
  table << "examples (prompt | answer | generated):\n";
  for (const auto& e : r.examples) table << "  " << e << "\n";

  memory.reset();
  doc_memory.reset();
  db.reset();
  if (temp_db) fs::remove_all(db_dir);
  return {j.dump(), table.str()};
}

}  // namespace engram::lm
