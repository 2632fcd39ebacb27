// lm/corpus.cc — reading text and facts, sentence splitting, segment packing, drills.
#include "lm/corpus.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engram/error.h"
#include "lm/tokenizer.h"

namespace engram::lm {

namespace {
std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, "cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
}

void trim_into(std::string s, std::size_t offset, std::vector<Sentence>* out) {
  std::size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  std::size_t e = s.size();
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  if (e > b) out->push_back({s.substr(b, e - b), offset + b});
}

// A word that starts sentences far more often than it follows an abbreviation inside one.
bool sentence_starter_at(const std::string& t, std::size_t pos) {
  std::size_t e = pos;
  while (e < t.size() && std::isalpha(static_cast<unsigned char>(t[e]))) ++e;
  static const char* kStarters[] = {"The", "A", "An", "In", "It", "He", "She", "They", "This", "That", "These",
                                    "We", "I", "There", "On", "At", "After", "But", "And", "His", "Her", "Its",
                                    "Their", "When", "What", "Which", "Who", "Born", "Today", "Since"};
  const std::string w = t.substr(pos, e - pos);
  for (const char* s : kStarters)
    if (w == s) return true;
  return false;
}

// The word ending at t[dot] ('.') is an abbreviation, not a sentence end: an initial ("L."),
// a title ("Mr."), or — unless the next word usually starts a sentence ("... in the U.S. The
// next ...") — a dotted abbreviation ("U.S.", "e.g.", "Ph.D.") or a short form ("etc.", "Inc.").
bool abbreviation_before(const std::string& t, std::size_t dot) {
  std::size_t next = dot + 1;
  while (next < t.size() && t[next] == ' ') ++next;
  const bool starter_follows = sentence_starter_at(t, next);
  std::size_t b = dot;
  while (b > 0 && std::isalpha(static_cast<unsigned char>(t[b - 1]))) --b;
  const std::string w = t.substr(b, dot - b);
  if (w.empty()) return false;
  // "U.S.", "e.g.", "Ph.D.": letters and dots, at least one dot inside.
  if (b > 0 && t[b - 1] == '.') {
    std::size_t a = b - 1;
    while (a > 0 && (std::isalpha(static_cast<unsigned char>(t[a - 1])) || t[a - 1] == '.')) --a;
    const std::size_t dots = std::count(t.begin() + a, t.begin() + dot, '.');
    if (dot - a <= 8 && dots >= 1) return !starter_follows;
  }
  if (b > 0 && !std::isspace(static_cast<unsigned char>(t[b - 1])) && t[b - 1] != '(' && t[b - 1] != '"')
    return false;
  if (w.size() == 1 && std::isupper(static_cast<unsigned char>(w[0]))) return true;
  static const char* kTitles[] = {"Mr", "Mrs", "Ms", "Dr", "St", "Mt", "Col", "Gen", "Capt", "Rev", "Prof",
                                  "Lt", "Sgt", "Gov", "Sen", "Rep", "Hon", "Fr", "No", "Nos", "Fig", "Vol", "pp",
                                  "cf", "vs"};
  for (const char* a : kTitles)
    if (w == a) return true;
  static const char* kShort[] = {"Jr", "Sr", "etc", "approx", "Inc", "Ltd", "Co", "Corp", "ca", "Jan", "Feb",
                                 "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec"};
  for (const char* a : kShort)
    if (w == a) return !starter_follows;
  return false;
}

// Tokens of " " + sentence: SentencePiece's dummy prefix makes these concatenate like text.
std::vector<int> sentence_tokens(const Tokenizer& tok, const std::string& s) { return tok.encode(s); }
}  // namespace

std::vector<Document> read_documents(const std::vector<std::string>& files) {
  std::vector<Document> docs;
  bool any = false;
  for (const auto& f : files) {
    const std::string text = read_file(f);
    std::size_t pos = 0, start = 0;
    std::string cur;
    auto flush = [&](std::size_t begin) {
      if (!blank(cur)) docs.push_back({f, begin, cur});
      cur.clear();
    };
    while (pos <= text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      std::string line = text.substr(pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line == kDocSeparator) {
        flush(start);
        start = nl + 1;
      } else {
        cur += line;
        cur += '\n';
      }
      pos = nl + 1;
    }
    flush(start);
  }
  for (const auto& d : docs) any = any || !blank(d.text);
  if (!any) throw Error(ErrorCode::kInvalidArgument, "the corpus is empty (no text in the input files)");
  return docs;
}

std::vector<Sentence> split_sentences(const Document& doc) {
  std::vector<Sentence> out;
  const std::string& t = doc.text;
  std::size_t start = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    // A sentence ends at . ! ? followed by a space, or by closing quotes or brackets and then
    // a space ('... year." He').
    std::size_t e = i + 1;
    if (c == '.' || c == '!' || c == '?')
      while (e < t.size() && (t[e] == '"' || t[e] == '\'' || t[e] == ')' || t[e] == ']')) ++e;
    bool end_punct = (c == '.' || c == '!' || c == '?') && e < t.size() && t[e] == ' ';
    if (end_punct && c == '.' && abbreviation_before(t, i)) end_punct = false;
    if (c == '\n' || end_punct) {
      const std::size_t end = c == '\n' ? i + 1 : e;
      trim_into(t.substr(start, end - start), doc.offset + start, &out);
      start = end;
      i = end - 1;
    }
  }
  trim_into(t.substr(start), doc.offset + start, &out);
  return out;
}

void read_tsv(const std::string& file, const std::string& what,
              const std::function<std::string(const std::vector<std::string>&)>& parse) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorCode::kNotFound, "cannot read " + what + " file " + file);
  std::string line;
  int n = 0, rows = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (blank(line)) continue;
    std::vector<std::string> cols;
    std::size_t p = 0, q;
    while ((q = line.find('\t', p)) != std::string::npos) {
      cols.push_back(line.substr(p, q - p));
      p = q + 1;
    }
    cols.push_back(line.substr(p));
    const std::string err = std::any_of(cols.begin(), cols.end(), blank) ? "an empty column" : parse(cols);
    if (!err.empty()) throw Error(ErrorCode::kInvalidArgument, file + ":" + std::to_string(n) + ": " + err);
    ++rows;
  }
  if (rows == 0) throw Error(ErrorCode::kInvalidArgument, "no " + what + " in " + file);
}

namespace {
// Facts from a TSV file: `parse` fills a fact from its columns or returns an error message.
template <class Parse>
std::vector<Fact> read_fact_lines(const std::string& file, Parse parse) {
  std::vector<Fact> facts;
  read_tsv(file, "facts", [&](const std::vector<std::string>& cols) {
    Fact f;
    std::string err = parse(cols, &f);
    if (err.empty()) facts.push_back(std::move(f));
    return err;
  });
  return facts;
}
}  // namespace

std::string fact_statement(const Fact& f) {
  if (!f.statement.empty()) return f.statement;
  const char last = f.answer.empty() ? ' ' : f.answer.back();
  return f.prompt + " " + f.answer + (last == '.' || last == '!' || last == '?' ? "" : ".");
}

std::vector<Fact> read_facts(const std::string& file) {
  return read_fact_lines(file, [](const std::vector<std::string>& c, Fact* f) -> std::string {
    if (c.size() < 2 || c.size() > 3) return "expected prompt<TAB>answer[<TAB>relation]";
    *f = {c[0], c[1], c.size() > 2 ? c[2] : "", ""};
    return "";
  });
}

std::vector<Fact> read_inverted_facts(const std::string& file) {
  return read_fact_lines(file, [](const std::vector<std::string>& c, Fact* f) -> std::string {
    if (c.size() < 3 || c.size() > 4) return "expected statement<TAB>prompt<TAB>answer[<TAB>relation]";
    if (c[0].find(c[2]) == std::string::npos) return "the statement does not contain the answer";
    *f = {c[1], c[2], c.size() > 3 ? c[3] : "", c[0]};
    return "";
  });
}

std::string rephrase_prompt(const std::string& p) {
  static const std::string born = " was born in the year", died = " died in the year";
  auto ends = [&](const std::string& s) {
    return p.size() > s.size() && p.compare(p.size() - s.size(), s.size(), s) == 0;
  };
  if (ends(born)) return "The year of the birth of " + p.substr(0, p.size() - born.size()) + " was";
  if (ends(died)) return "The year of the death of " + p.substr(0, p.size() - died.size()) + " was";
  return "";
}

std::vector<Segment> pack_segments(const Tokenizer& tok, const Document& doc, int max_len) {
  std::vector<Segment> segs;
  Segment cur;
  for (const auto& s : split_sentences(doc)) {
    std::vector<int> ids = sentence_tokens(tok, s.text);
    // A sentence that does not fit starts a new segment; one longer than a segment is cut.
    if (!cur.tokens.empty() && cur.tokens.size() + ids.size() > static_cast<std::size_t>(max_len)) {
      segs.push_back(std::move(cur));
      cur = Segment{};
    }
    for (int id : ids) {
      if (cur.tokens.size() == static_cast<std::size_t>(max_len)) {
        segs.push_back(std::move(cur));
        cur = Segment{};
      }
      cur.tokens.push_back(id);
      cur.offsets.push_back(s.offset);
    }
  }
  if (!cur.tokens.empty()) segs.push_back(std::move(cur));
  return segs;
}

std::vector<Segment> sentence_segments(const Tokenizer& tok, const Document& doc, int max_len) {
  std::vector<Segment> segs;
  for (const auto& s : split_sentences(doc)) {
    std::vector<int> ids = sentence_tokens(tok, s.text);
    for (std::size_t b = 0; b < ids.size(); b += static_cast<std::size_t>(max_len)) {
      Segment seg;
      const std::size_t e = std::min(ids.size(), b + static_cast<std::size_t>(max_len));
      seg.tokens.assign(ids.begin() + b, ids.begin() + e);
      seg.offsets.assign(e - b, s.offset);
      segs.push_back(std::move(seg));
    }
  }
  return segs;
}

std::vector<Document> make_fact_documents(const std::vector<Fact>& facts,
                                          const std::vector<Sentence>& prose, std::mt19937_64& rng,
                                          int facts_per_paragraph, int paragraphs_per_document) {
  std::vector<std::size_t> order(facts.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<Document> docs;
  std::string text, para;
  int in_para = 0, paras = 0;
  std::uniform_int_distribution<std::size_t> pick(0, prose.empty() ? 0 : prose.size() - 1);
  // A prose sentence without end punctuation (a heading, a cut quotation) would swallow the
  // fact after it: it is closed with a period.
  auto closed = [](std::string s) {
    std::size_t e = s.size();
    while (e > 0 && (s[e - 1] == '"' || s[e - 1] == '\'' || s[e - 1] == ')' || s[e - 1] == ']')) --e;
    if (e == 0 || (s[e - 1] != '.' && s[e - 1] != '!' && s[e - 1] != '?')) s += ".";
    return s;
  };
  for (std::size_t n = 0; n < order.size(); ++n) {
    const Fact& f = facts[order[n]];
    // Prose between facts: the facts sit inside ordinary text, not in a list.
    if (!prose.empty() && (rng() % 2 == 0)) para += closed(prose[pick(rng)].text) + " ";
    const std::string st = fact_statement(f);
    // A statement that ends with its answer's own period ("... the U.S.") could read on into
    // the next sentence: it ends its line instead.
    para += st + (!f.answer.empty() && st.size() > f.answer.size() && f.answer.back() == '.' ? "\n" : " ");
    if (++in_para == facts_per_paragraph || n + 1 == order.size()) {
      if (!prose.empty()) para += closed(prose[pick(rng)].text);
      text += para + "\n";
      para.clear();
      in_para = 0;
      if (++paras == paragraphs_per_document || n + 1 == order.size()) {
        docs.push_back({"facts", docs.size(), text});
        text.clear();
        paras = 0;
      }
    }
  }
  return docs;
}

std::vector<std::vector<int>> prose_episodes(const Tokenizer& tok, const std::vector<Document>& docs,
                                             int segments, int seg_len) {
  const std::size_t len = static_cast<std::size_t>(segments) * seg_len + 1;
  std::vector<std::vector<int>> eps;
  for (const auto& d : docs) {
    std::vector<int> ids = tok.encode(d.text);
    for (std::size_t s = 0; s + len <= ids.size(); s += len - 1)
      eps.emplace_back(ids.begin() + s, ids.begin() + s + len);
  }
  return eps;
}

std::vector<int> drill_episode(const Tokenizer& tok, const std::vector<Fact>& facts,
                               const std::vector<Sentence>& prose, std::mt19937_64& rng,
                               int segments, int seg_len, int knowledge_segments,
                               double rephrase_prob) {
  const std::size_t total = static_cast<std::size_t>(segments) * seg_len + 1;
  const std::size_t know_len = static_cast<std::size_t>(knowledge_segments) * seg_len;
  std::uniform_int_distribution<std::size_t> pick_fact(0, facts.size() - 1);
  std::uniform_int_distribution<std::size_t> pick_prose(0, prose.empty() ? 0 : prose.size() - 1);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<int> out;
  out.reserve(total);
  struct Stated { const Fact* f; std::string answer; };
  std::vector<Stated> stated;
  auto append_filler = [&](std::size_t upto) {
    // Fill with prose (cut to fit) so that the next part starts at a segment boundary.
    while (out.size() < upto) {
      std::vector<int> ids = prose.empty() ? std::vector<int>{tok.eos_id()}
                                           : tok.encode(prose[pick_prose(rng)].text);
      for (int id : ids) {
        if (out.size() == upto) break;
        out.push_back(id);
      }
    }
  };
  // Knowledge part: each segment packs whole sentences (a fact is never split).
  for (int s = 0; s < knowledge_segments; ++s) {
    const std::size_t seg_end = static_cast<std::size_t>(s + 1) * seg_len;
    while (true) {
      std::string sentence;
      const bool is_fact = prose.empty() || u(rng) < 0.7;
      Stated st{nullptr, {}};
      if (is_fact) {
        st.f = &facts[pick_fact(rng)];
        st.answer = facts[pick_fact(rng)].answer;  // a random answer: nothing to memorise
        sentence = st.f->prompt + " " + st.answer + ".";
      } else {
        sentence = prose[pick_prose(rng)].text;
      }
      std::vector<int> ids = tok.encode(sentence);
      if (out.size() + ids.size() > seg_end) break;
      out.insert(out.end(), ids.begin(), ids.end());
      if (st.f) stated.push_back(std::move(st));
    }
    append_filler(seg_end);
  }
  if (know_len != out.size()) out.resize(know_len);
  // Question part: the stated facts again, in another order, until the episode is full.
  std::shuffle(stated.begin(), stated.end(), rng);
  std::size_t i = 0;
  while (out.size() < total && !stated.empty()) {
    const Stated& st = stated[i++ % stated.size()];
    std::string prompt = st.f->prompt;
    if (u(rng) < rephrase_prob) {
      std::string r = rephrase_prompt(prompt);
      if (!r.empty()) prompt = r;
    }
    std::vector<int> ids = tok.encode(prompt + " " + st.answer + ".");
    for (int id : ids) {
      if (out.size() == total) break;
      out.push_back(id);
    }
  }
  append_filler(total);
  return out;
}

}  // namespace engram::lm
