// lm/passages.cc — passage units, and storing and retrieving them.
#include "lm/passages.h"

#include <algorithm>

#include "engram/error.h"
#include "lm/memory_store.h"

namespace engram::lm {

std::string passage_memory_name(const std::string& memory) { return memory + ".passages"; }

MemoryConfig passage_memory_config(int key_dim) {
  MemoryConfig c;
  c.key_dim = key_dim;
  c.value_dim = 1;
  c.metric = Metric::kInnerProduct;
  c.index = "Flat";
  c.default_k = 8;
  c.sync = false;
  return c;
}

std::shared_ptr<Memory> open_passage_memory(Database& db, const std::string& name, int key_dim, bool fresh) {
  return open_memory(db, name, passage_memory_config(key_dim), fresh);
}

namespace {
int count_words(const std::string& s) { return static_cast<int>(LexicalKeys::words(s).size()); }

// The key of `text` into out[0, dim): a text without words still needs a valid (unit) key; any
// will do, it scores about 0 against everything.
void passage_key(const LexicalKeys& keys, const std::string& text, float* out) {
  keys.encode(text, out);
  if (std::all_of(out, out + keys.dim(), [](float x) { return x == 0; })) out[0] = 1.0f;
}

std::string trimmed(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}
}  // namespace

std::vector<std::string> passage_units(const Document& doc) {
  std::vector<std::string> out;
  for (const auto& s : split_sentences(doc)) {
    if (s.text.size() > 600 || count_words(s.text) == 0) continue;
    out.push_back(s.text);
    std::vector<std::string> clauses;
    std::string cur;
    for (char c : s.text) {
      if (c == ',' || c == ';' || c == ':') {
        clauses.push_back(trimmed(cur));
        cur.clear();
      } else {
        cur += c;
      }
    }
    clauses.push_back(trimmed(cur));
    std::vector<std::string> kept;
    for (auto& c : clauses)
      if (count_words(c) >= 3) kept.push_back(std::move(c));
    if (clauses.size() > 1)
      for (auto& c : kept) out.push_back(std::move(c));
  }
  return out;
}

int64_t store_passages(MemoryInterface& memory, const LexicalKeys& keys,
                       const std::vector<std::string>& passages, int64_t max_slots) {
  const std::size_t dim = static_cast<std::size_t>(keys.dim());
  if (static_cast<std::size_t>(memory.config().key_dim) != dim || memory.config().value_dim != 1)
    throw Error(ErrorCode::kInvalidArgument, "store_passages: the memory is not a passage memory of this width");
  const std::size_t total = max_slots > 0 ? std::min<std::size_t>(passages.size(), max_slots) : passages.size();
  constexpr std::size_t kBatch = 1024;
  std::vector<float> k, v;
  for (std::size_t b = 0; b < total; b += kBatch) {
    const std::size_t n = std::min(kBatch, total - b);
    k.assign(n * dim, 0.0f);
    v.assign(n, 1.0f);
    std::vector<std::string> payloads(passages.begin() + b, passages.begin() + b + n);
    for (std::size_t i = 0; i < n; ++i) passage_key(keys, payloads[i], k.data() + i * dim);
    memory.insert(MatrixView(k.data(), n, dim), MatrixView(v.data(), n, 1), payloads);
  }
  return static_cast<int64_t>(total);
}

std::vector<std::vector<RetrievedPassage>> retrieve_passages(MemoryInterface& memory, const LexicalKeys& keys,
                                                             const std::vector<std::string>& queries, int k) {
  std::vector<std::vector<RetrievedPassage>> out(queries.size());
  if (queries.empty() || memory.count() == 0) return out;
  const std::size_t dim = static_cast<std::size_t>(keys.dim());
  std::vector<float> q(queries.size() * dim);
  for (std::size_t i = 0; i < queries.size(); ++i) passage_key(keys, queries[i], q.data() + i * dim);
  // Ask for more than k: clauses of a sentence that is also retrieved are dropped below.
  const int want = std::min<int>(2 * k, static_cast<int>(kMaxK));
  const SearchResult r = memory.search(MatrixView(q.data(), queries.size(), dim), {.k = want, .with_payloads = true});
  for (std::size_t i = 0; i < queries.size(); ++i) {
    for (std::size_t j = 0; j < r.k && static_cast<int>(out[i].size()) < k; ++j) {
      const std::size_t at = i * r.k + j;
      if (r.ids[at] == kNoSlot) break;
      const std::string& text = r.payloads[at];
      // A clause and its sentence are one passage: the whole sentence is read (a clause alone
      // may lack the answer: "In 1871, the Zorvan Institute was founded."), at the better rank.
      auto same = std::find_if(out[i].begin(), out[i].end(), [&](const RetrievedPassage& p) {
        return p.text.find(text) != std::string::npos || text.find(p.text) != std::string::npos;
      });
      if (same == out[i].end())
        out[i].push_back({text, r.scores[at]});
      else if (text.size() > same->text.size())
        same->text = text;
    }
  }
  return out;
}

}  // namespace engram::lm
