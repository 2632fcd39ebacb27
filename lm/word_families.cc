// lm/word_families.cc — the WordNet family table and morphy's lemma lookup.
#include "lm/word_families.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "engram/error.h"

namespace engram::lm {

namespace {

constexpr const char* kMagic = "engram-word-families 1";

// WordNet's detachment rules (morphy(7WN)) for nouns, verbs and adjectives: suffix → ending.
constexpr std::pair<const char*, const char*> kSuffixRules[] = {
    {"s", ""},    {"ses", "s"}, {"xes", "x"}, {"zes", "z"},  {"ches", "ch"}, {"shes", "sh"},
    {"men", "man"}, {"ies", "y"}, {"es", "e"}, {"es", ""},   {"ed", "e"},    {"ed", ""},
    {"ing", "e"}, {"ing", ""},  {"er", ""},   {"est", ""},   {"er", "e"},    {"est", "e"}};

std::vector<std::string> split_spaces(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

}  // namespace

WordFamilies WordFamilies::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, "word families: cannot read " + path);
  std::string line;
  if (!std::getline(in, line) || line != kMagic)
    throw Error(ErrorCode::kCorruption, "word families: " + path + " is not a word family table");
  WordFamilies f;
  int64_t n = 1;
  while (std::getline(in, line)) {
    ++n;
    const auto t1 = line.find('\t');
    const auto t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string::npos || t1 != 1 || t2 == t1 + 1 || (line[0] != 'F' && line[0] != 'X'))
      throw Error(ErrorCode::kCorruption,
                  "word families: malformed line " + std::to_string(n) + " in " + path);
    auto& table = line[0] == 'F' ? f.family_ : f.irregular_;
    table[line.substr(t1 + 1, t2 - t1 - 1)] = split_spaces(line.substr(t2 + 1));
  }
  return f;
}

void WordFamilies::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << kMagic << "\n";
  const auto write = [&](char kind, const auto& table) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : table) keys.push_back(k);
    std::sort(keys.begin(), keys.end());  // the same file for the same table
    for (const auto& k : keys) {
      out << kind << '\t' << k << '\t';
      const auto& members = table.at(k);
      for (std::size_t i = 0; i < members.size(); ++i) out << (i ? " " : "") << members[i];
      out << '\n';
    }
  };
  write('F', family_);
  write('X', irregular_);
  if (!out) throw Error(ErrorCode::kIOError, "word families: cannot write " + path);
}

std::vector<std::string> WordFamilies::family_of(const std::string& word) const {
  std::vector<std::string> lemmas;
  if (const auto it = irregular_.find(word); it != irregular_.end()) lemmas = it->second;
  lemmas.push_back(word);
  for (const auto& [suffix, ending] : kSuffixRules) {
    const std::string s = suffix;
    if (word.size() > s.size() + 1 && word.compare(word.size() - s.size(), s.size(), s) == 0)
      lemmas.push_back(word.substr(0, word.size() - s.size()) + ending);
  }
  std::vector<std::string> out;
  for (const auto& l : lemmas) {
    const auto it = family_.find(l);
    if (it == family_.end()) continue;
    out.push_back(l);
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace engram::lm
