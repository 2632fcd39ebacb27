// lm/lexical_keys.h — the keys of the passage memory: what a sentence is about, by its words.
//
// A passage's key is the sum, over its distinct words, of idf(word) · u(word), made unit length;
// u(word) mixes a vector for the whole word with vectors for its character trigrams, each
// feature hashed to a few signed coordinates (feature hashing). The inner product of two keys
// is then close to an idf-weighted overlap of their words, forgiving inflection ("founded" /
// "founding" share most trigrams). Rare words — the names of the subjects — weigh most, so
// "The Zorvan Institute was founded in 1871." and "In which year was the Zorvan Institute
// founded?" meet, whatever order and template each uses. The weights are fixed (document
// frequencies of the training text, saved with the model); no training is needed, so keys do
// not depend on the relations or templates the model saw. With word families (WordNet's, see
// word_families.h) a word also adds its lemmas' families, so "the death of X" meets "X died"
// and "the birth of X" meets "X was born"; a word with no family (a name) is its own, so that
// relation words do not outweigh names. No LibTorch here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "lm/word_families.h"

namespace engram::lm {

class LexicalKeys {
 public:
  // Features are hashed, so unrelated words collide; the collisions' noise in a cosine is about
  // 1/√dim. With word families a word has ~20 features, and on dev facts asked in other words
  // the right passage ranked first 84 % of the time at 512, 95 % at 2048, 99.5 % at 4096
  // (16 KiB a passage in a Flat index).
  static constexpr int kDefaultDim = 4096;

  // Document frequencies from `passages` (each string one passage).
  static LexicalKeys build(const std::vector<std::string>& passages, int dim = kDefaultDim);
  // Throws engram::Error(kNotFound) for a missing file, kCorruption for a malformed one.
  static LexicalKeys load(const std::string& path);
  void save(const std::string& path) const;

  // Keys encoded from now on add the families of their words (null: none).
  void use_families(std::shared_ptr<const WordFamilies> families) { families_ = std::move(families); }
  const WordFamilies* families() const { return families_.get(); }

  int dim() const { return dim_; }
  // log((N + 1) / (df + 1)): a word never seen weighs most.
  float idf(const std::string& word) const;

  // The unit-length key of `text` into out[0, dim); all zeros when it has no words.
  void encode(const std::string& text, float* out) const;
  std::vector<float> encode(const std::string& text) const;

  // Lower-cased words: runs of letters and digits (bytes ≥ 0x80 count as letters, so UTF-8
  // words stay whole).
  static std::vector<std::string> words(const std::string& text);

 private:
  int dim_ = kDefaultDim;
  double passages_ = 0;
  std::unordered_map<std::string, uint32_t> df_;
  std::shared_ptr<const WordFamilies> families_;
};

}  // namespace engram::lm
