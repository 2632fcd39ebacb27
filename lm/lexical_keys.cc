// lm/lexical_keys.cc — idf-weighted, feature-hashed word and trigram keys.
#include "lm/lexical_keys.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "engram/error.h"

namespace engram::lm {

namespace {

constexpr const char* kMagic = "engram-lexical-keys 1";
constexpr int kCoordsPerFeature = 4;
// Share of a word's vector given to the whole word; the rest goes to its trigrams.
constexpr float kWholeWordShare = 0.6f;
// Weight of a word's family (spread over its members), beside the word's own 0.6 + 0.4: enough
// that "death" ranks "X died" above "X was born" for a question about X, small enough that the
// subject's rare name still decides which passages are about X.
constexpr float kFamilyShare = 1.0f;


uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

uint64_t mix(uint64_t z) {  // splitmix64's finaliser: independent bits from one hash
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Adds weight · h(feature) to out, h a fixed unit vector with kCoordsPerFeature signed entries.
void add_feature(const std::string& feature, float weight, int dim, float* out) {
  uint64_t h = fnv1a(feature);
  const float w = weight / std::sqrt(static_cast<float>(kCoordsPerFeature));
  for (int i = 0; i < kCoordsPerFeature; ++i) {
    h = mix(h);
    out[h % static_cast<uint64_t>(dim)] += (h >> 63) ? w : -w;
  }
}

}  // namespace

std::vector<std::string> LexicalKeys::words(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c >= 0x80) {
      cur += static_cast<char>(c < 0x80 ? std::tolower(c) : c);
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

LexicalKeys LexicalKeys::build(const std::vector<std::string>& passages, int dim) {
  if (dim < 8) throw Error(ErrorCode::kInvalidArgument, "lexical keys: dim must be >= 8");
  LexicalKeys k;
  k.dim_ = dim;
  for (const auto& p : passages) {
    const auto ws = words(p);
    for (const auto& w : std::set<std::string>(ws.begin(), ws.end())) ++k.df_[w];
    ++k.passages_;
  }
  return k;
}

float LexicalKeys::idf(const std::string& word) const {
  const auto it = df_.find(word);
  const double df = it == df_.end() ? 0.0 : it->second;
  return static_cast<float>(std::log((passages_ + 1.0) / (df + 1.0)));
}

void LexicalKeys::encode(const std::string& text, float* out) const {
  std::fill(out, out + dim_, 0.0f);
  const auto ws = words(text);
  for (const auto& w : std::set<std::string>(ws.begin(), ws.end())) {
    const float weight = idf(w);
    if (weight <= 0) continue;
    add_feature("w:" + w, weight * kWholeWordShare, dim_, out);
    // Trigrams of "<word>", sharing the rest of the word's weight: inflections still meet.
    const std::string b = "<" + w + ">";
    const std::size_t n = b.size() - 2;
    const float tw = weight * (1.0f - kWholeWordShare) / std::sqrt(static_cast<float>(n));
    for (std::size_t i = 0; i + 3 <= b.size(); ++i) add_feature("t:" + b.substr(i, 3), tw, dim_, out);
    if (families_ != nullptr) {
      // A word with no family (a name, a number) is its own: every word then weighs the same
      // (whole + trigrams + family), and relation words do not outweigh the subject's name.
      auto family = families_->family_of(w);
      if (family.empty()) family.push_back(w);
      const float fw = weight * kFamilyShare / std::sqrt(static_cast<float>(std::max<std::size_t>(family.size(), 1)));
      for (const auto& m : family) add_feature("f:" + m, fw, dim_, out);
    }
  }
  double norm = 0;
  for (int i = 0; i < dim_; ++i) norm += static_cast<double>(out[i]) * out[i];
  if (norm > 0) {
    const float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (int i = 0; i < dim_; ++i) out[i] *= inv;
  }
}

std::vector<float> LexicalKeys::encode(const std::string& text) const {
  std::vector<float> v(dim_);
  encode(text, v.data());
  return v;
}

void LexicalKeys::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << kMagic << "\n" << dim_ << " " << static_cast<uint64_t>(passages_) << "\n";
  std::vector<std::pair<std::string, uint32_t>> rows(df_.begin(), df_.end());
  std::sort(rows.begin(), rows.end());  // the same file for the same text
  for (const auto& [w, n] : rows) out << w << '\t' << n << '\n';
  if (!out) throw Error(ErrorCode::kIOError, "lexical keys: cannot write " + path);
}

LexicalKeys LexicalKeys::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, "lexical keys: cannot read " + path);
  std::string line;
  LexicalKeys k;
  uint64_t n = 0;
  if (!std::getline(in, line) || line != kMagic || !std::getline(in, line) ||
      !(std::istringstream(line) >> k.dim_ >> n) || k.dim_ < 8)
    throw Error(ErrorCode::kCorruption, "lexical keys: " + path + " is not a lexical key table");
  k.passages_ = static_cast<double>(n);
  while (std::getline(in, line)) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos || tab == 0)
      throw Error(ErrorCode::kCorruption, "lexical keys: malformed line in " + path);
    k.df_[line.substr(0, tab)] = static_cast<uint32_t>(std::stoul(line.substr(tab + 1)));
  }
  return k;
}

}  // namespace engram::lm
