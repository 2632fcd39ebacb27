// lm/fact_recall.h — scoring a set of facts: each prompt completed greedily with the memory and
// without it, exact match of the answer, per relation, with a per-fact record of what was
// generated and what was retrieved. LibTorch-free interface.
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "lm/corpus.h"

namespace engram {
class MemoryInterface;
}

namespace engram::lm {

class LanguageModel;

struct RecallCount {
  int n = 0, with_memory = 0, without_memory = 0;
};

struct RecallResult {
  std::string set;                              // "exact", "rephrased", "inverted"
  RecallCount all;
  std::map<std::string, RecallCount> relations;  // by the facts' relation column, when present
  std::vector<std::string> examples;             // a few, for the table
};

struct RecallOptions {
  int max_new_tokens = 8;
  bool progress = true;
  std::ostream* jsonl = nullptr;  // one JSON object a fact, when set
};

// With the memory: a model that reads passages answers from `passages` (lm/question_answering.h);
// any other model continues the prompt reading `tokens` (its kNN / attention memory).
RecallResult score_facts(LanguageModel& lm, const std::string& set, const std::vector<Fact>& facts,
                         MemoryInterface* passages, MemoryInterface* tokens, const RecallOptions& options);

// Exact match: the continuation (leading spaces ignored) starts with the answer, followed by
// the end or by something that is not a letter or digit.
bool exact_match(const std::string& continuation, const std::string& answer);

// Tokens the longest answer needs (with a leading space and its closing period).
int answer_tokens_needed(const LanguageModel& lm, const std::vector<const std::vector<Fact>*>& sets);

}  // namespace engram::lm
