// lm/word_families.h — words that name the same thing in another form ("death" / "died",
// "birth" / "born", "founding" / "established"), for the passage memory's lexical keys.
//
// A question often names a relation with another form of the word its statement used;
// character trigrams do not join "death" and "died". The table comes from WordNet
// (scripts/wordnet-families.py): each lemma's family (derivational links of any sense, synonyms
// of its first sense) and the irregular forms ("born" → "bear"). A word's lemmas are found as
// WordNet's morphy does: the irregular forms, the word itself, and the word with a regular
// suffix undone ("died" → "die", "cities" → "city") where the result is a lemma of the table.
// No LibTorch here.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

namespace engram::lm {

class WordFamilies {
 public:
  // Throws engram::Error(kNotFound) for a missing file, kCorruption for a malformed one.
  static WordFamilies load(const std::string& path);
  void save(const std::string& path) const;

  // The lemmas of `word` (lower case) and their families, each once, sorted; empty when the
  // word has none in the table (names, numbers).
  std::vector<std::string> family_of(const std::string& word) const;

 private:
  std::unordered_map<std::string, std::vector<std::string>> family_;     // lemma → members
  std::unordered_map<std::string, std::vector<std::string>> irregular_;  // form → lemmas
};

}  // namespace engram::lm
