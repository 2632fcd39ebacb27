// lm/fact_recall.cc — fact sets scored with and without the memory.
#include "lm/fact_recall.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "ingest/progress.h"
#include "lm/checkpoint.h"
#include "lm/generator.h"
#include "lm/language_model.h"
#include "lm/question_answering.h"

namespace engram::lm {

bool exact_match(const std::string& cont, const std::string& answer) {
  std::size_t b = 0;
  while (b < cont.size() && std::isspace(static_cast<unsigned char>(cont[b]))) ++b;
  if (cont.compare(b, answer.size(), answer) != 0) return false;
  const std::size_t e = b + answer.size();
  return e == cont.size() || !std::isalnum(static_cast<unsigned char>(cont[e]));
}

int answer_tokens_needed(const LanguageModel& lm, const std::vector<const std::vector<Fact>*>& sets) {
  std::size_t most = 1;
  for (const auto* s : sets)
    for (const auto& f : *s) most = std::max(most, lm.tokenizer().encode(" " + f.answer + ".").size());
  return static_cast<int>(most);
}

RecallResult score_facts(LanguageModel& lm, const std::string& set, const std::vector<Fact>& facts,
                         MemoryInterface* passages, MemoryInterface* tokens, const RecallOptions& o) {
  RecallResult r;
  r.set = set;
  GenerateOptions g;
  g.max_new_tokens = o.max_new_tokens;
  g.temperature = 0;
  std::vector<std::string> prompts;
  for (const auto& f : facts) prompts.push_back(f.prompt);
  // Retrieval for the whole set at once (one batched search); reading is per fact.
  std::vector<Answer> with;
  if (passages != nullptr) {
    with = answer_from_passages(lm, *passages, prompts, g);
  } else {
    for (const auto& p : prompts) with.push_back({generate_text(lm, p, g, tokens), {}});
  }
  using engram::ingest::Progress;
  Progress progress(o.progress ? Progress::Mode::kAuto : Progress::Mode::kQuiet, facts.size(), 0, stderr, 5.0,
                    {set, "facts", 10});
  for (std::size_t i = 0; i < facts.size(); ++i) {
    const Fact& f = facts[i];
    const std::string without = generate_text(lm, f.prompt, g, nullptr);
    const bool ok_with = exact_match(with[i].text, f.answer), ok_without = exact_match(without, f.answer);
    for (RecallCount* c : {&r.all, f.relation.empty() ? nullptr : &r.relations[f.relation]}) {
      if (c == nullptr) continue;
      ++c->n;
      c->with_memory += ok_with;
      c->without_memory += ok_without;
    }
    if (r.examples.size() < 4)
      r.examples.push_back(f.prompt + " | " + f.answer + " | with: '" + with[i].text + "' | without: '" + without + "'");
    if (o.jsonl != nullptr) {
      nlohmann::json j = {{"set", set}, {"prompt", f.prompt}, {"answer", f.answer}, {"relation", f.relation},
                          {"with_memory", with[i].text}, {"without_memory", without},
                          {"correct_with_memory", ok_with}, {"correct_without_memory", ok_without}};
      if (!f.statement.empty()) j["statement"] = f.statement;
      nlohmann::json ret = nlohmann::json::array();
      for (const auto& p : with[i].passages) ret.push_back({{"payload", p.text}, {"score", p.score}});
      j["retrieved"] = ret;
      *o.jsonl << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    char note[96];
    std::snprintf(note, sizeof note, "with memory %.1f%%  without %.1f%%", 100.0 * r.all.with_memory / r.all.n,
                  100.0 * r.all.without_memory / r.all.n);
    progress.update(i + 1, 0, note);
  }
  progress.finish();
  return r;
}

}  // namespace engram::lm
