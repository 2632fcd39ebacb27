// lm/qa_drills.h — reader drills: the training text that teaches the model to answer from
// passages it is given (lm/reader.h), whatever words the passage and the question use.
//
// A drill is one reader context: 1–4 passages — the statement of a fact and distractors (facts
// about the same subject with other relations, facts of the same relation about other subjects,
// prose) — then a question about the fact and its answer. Statement and question templates are
// drawn independently (subject first or object first, cloze or wh-question), from a bank of
// relations with many templates each and from synthetic relations named by random words, about
// synthetic subjects and objects (names, years, numbers, codes, multi-word names, accented
// words) or subjects from a training fact file, with objects re-drawn at random each time: what
// is learnt is "find what the passages say about this subject and relation, and copy it", not
// the facts. No LibTorch here.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "lm/corpus.h"

namespace engram::lm {

class Tokenizer;

struct Triple {
  std::string subject, relation, object;
};

// subject<TAB>relation<TAB>object lines. Throws kNotFound / kInvalidArgument naming the line.
std::vector<Triple> read_triples(const std::string& file);

// Templates hold {s} and {o}.
struct RelationForms {
  std::string name;
  std::vector<std::string> statements;  // whole sentences: "{s} was founded in {o}."
  std::vector<std::string> questions;   // prompts the answer follows: "{s} was founded in the year"
};

// The built-in bank of natural relations. `held_out` templates (exact strings) are left out of
// every relation — an evaluation's phrasings must not be trained on.
std::vector<RelationForms> relation_bank(const std::vector<std::string>& held_out = {});

struct DrillText {
  std::vector<std::string> passages;  // best first
  std::string prompt, answer;
};

class ReaderDrills {
 public:
  // `facts`: real subjects (their objects are re-drawn); `prose`: distractor sentences.
  ReaderDrills(std::vector<Triple> facts, std::vector<Sentence> prose, int max_passages,
               const std::vector<std::string>& held_out_templates = {});

  // One drill as text.
  DrillText draw(std::mt19937_64& rng) const;

  // Token segments: `segments` × `seg_len` (+1) tokens, each segment starting with one drill in
  // reader layout and its answer, prose filling the rest. `prefix` receives, per segment, the
  // length of the drill's passages (reader_prefix_length), which the model reads as a
  // bidirectional prefix; the question and answer after it are learnt causally.
  std::vector<int> episode(const Tokenizer& tok, std::mt19937_64& rng, int segments, int seg_len,
                           std::vector<int>* prefix) const;

  // Statements in the drills' style, for training the tokenizer.
  std::vector<std::string> sample_statements(std::mt19937_64& rng, int n) const;

 private:
  std::vector<Triple> facts_;
  std::vector<Sentence> prose_;
  int max_passages_;
  std::vector<RelationForms> bank_;
};

}  // namespace engram::lm
