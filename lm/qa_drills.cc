// lm/qa_drills.cc — the relation bank, synthetic entities, and reader drills.
#include "lm/qa_drills.h"

#include <algorithm>
#include <fstream>

#include "engram/error.h"
#include "lm/reader.h"
#include "lm/tokenizer.h"

namespace engram::lm {

namespace {

enum class Kind { kPerson, kPlace, kOrg, kBook, kElement, kAcronym, kYear, kNumber, kCode, kPhrase,
                  kColor, kTrade, kLanguage, kContinent };

struct BankEntry {
  const char* name;
  Kind subject, object;
  std::vector<const char*> statements, questions;
};

// Natural relations. Questions are prompts that the answer follows directly.
const std::vector<BankEntry>& bank_entries() {
  static const std::vector<BankEntry> b = {
      {"born", Kind::kPerson, Kind::kYear,
       {"{s} was born in {o}.", "{s} was born in the year {o}.", "In {o}, {s} was born.",
        "{o} was the year of {s}'s birth.", "{s} (born {o}) is remembered today.", "Born in {o}, {s} grew up far from home."},
       {"{s} was born in the year", "{s} was born in", "In which year was {s} born?", "When was {s} born?",
        "{s}'s year of birth is", "The birth year of {s} is", "{s}, who was born in"}},
      {"died", Kind::kPerson, Kind::kYear,
       {"{s} died in {o}.", "{s} died in the year {o}.", "In {o}, {s} died.", "{o} was the year of {s}'s death.",
        "{s} passed away in {o}.", "Death came to {s} in {o}."},
       {"{s} died in the year", "{s} died in", "In which year did {s} die?", "When did {s} die?",
        "{s}'s year of death is", "The death year of {s} is", "{s} passed away in"}},
      {"founded", Kind::kOrg, Kind::kYear,
       {"{s} was founded in {o}.", "{s} was established in {o}.", "In {o}, {s} was founded.",
        "{o} saw the founding of {s}.", "The founding of {s} took place in {o}."},
       {"{s} was founded in", "In which year was {s} founded?", "The founding year of {s} is",
        "{s} was established in the year", "When was {s} established?"}},
      {"located", Kind::kOrg, Kind::kPlace,
       {"{s} is located in {o}.", "{s} stands in {o}.", "In {o} one finds {s}.", "{o} is the home of {s}."},
       {"{s} is located in", "Where is {s} located?", "{s} can be found in the city of", "The city of {s} is"}},
      {"capital", Kind::kPlace, Kind::kPlace,
       {"The capital of {s} is {o}.", "{o} is the capital of {s}.", "{s}'s capital city is {o}.",
        "{s} is governed from its capital, {o}."},
       {"The capital of {s} is", "What is the capital of {s}?", "{s}'s capital is", "Which city is the capital of {s}?",
        "The capital city of {s} is called"}},
      {"currency", Kind::kPlace, Kind::kCode,
       {"The currency code of {s} is {o}.", "{s} uses the currency {o}.", "{o} is the currency of {s}.",
        "In {s}, people pay in {o}."},
       {"The currency of {s} is", "What currency does {s} use?", "{s}'s currency is", "The currency code of {s} is",
        "Which currency is used in {s}?"}},
      {"continent", Kind::kPlace, Kind::kContinent,
       {"{s} is in {o}.", "{s} lies on the continent of {o}.", "{o} is the continent where {s} lies."},
       {"{s} is on the continent of", "On which continent is {s}?", "The continent of {s} is"}},
      {"language", Kind::kPlace, Kind::kLanguage,
       {"The language of {s} is {o}.", "People in {s} speak {o}.", "{o} is spoken in {s}."},
       {"The language spoken in {s} is", "What language do people speak in {s}?", "{s}'s language is"}},
      {"population", Kind::kPlace, Kind::kNumber,
       {"{s} has a population of {o} thousand.", "About {o} thousand people live in {s}."},
       {"The population of {s} in thousands is", "How many thousand people live in {s}?"}},
      {"flag", Kind::kPlace, Kind::kColor,
       {"The flag of {s} is {o}.", "{s} flies a {o} flag."},
       {"The color of the flag of {s} is", "What color is the flag of {s}?"}},
      {"author", Kind::kBook, Kind::kPerson,
       {"{s} was written by {o}.", "{o} wrote {s}.", "{o} is the author of {s}."},
       {"{s} was written by", "Who wrote {s}?", "The author of {s} is"}},
      {"symbol", Kind::kElement, Kind::kCode,
       {"The chemical symbol of {s} is {o}.", "{o} is the symbol for {s}.", "{s} has the symbol {o}."},
       {"The symbol of {s} is", "What is the chemical symbol of {s}?", "{s} is written with the symbol"}},
      {"atomic_number", Kind::kElement, Kind::kNumber,
       {"The atomic number of {s} is {o}.", "{s} has atomic number {o}.", "{o} is the atomic number of {s}."},
       {"The atomic number of {s} is", "What is the atomic number of {s}?", "{s}'s atomic number is"}},
      {"discovered", Kind::kElement, Kind::kPerson,
       {"{s} was discovered by {o}.", "{o} discovered {s}.", "The discovery of {s} was made by {o}."},
       {"{s} was discovered by", "Who discovered {s}?", "The discoverer of {s} was"}},
      {"stands_for", Kind::kAcronym, Kind::kPhrase,
       {"{s} stands for {o}.", "{o} is abbreviated {s}.", "The abbreviation {s} means {o}."},
       {"{s} stands for", "What does {s} stand for?", "The abbreviation {s} is short for", "{s} is short for"}},
      {"occupation", Kind::kPerson, Kind::kTrade,
       {"{s} worked as a {o}.", "{s} was a {o} by trade.", "By profession, {s} was a {o}."},
       {"{s} worked as a", "What was the profession of {s}? A", "{s} was by profession a"}},
      {"spouse", Kind::kPerson, Kind::kPerson,
       {"{s} was married to {o}.", "{o} was the spouse of {s}.", "{s} and {o} were married."},
       {"{s} was married to", "Who did {s} marry?", "The spouse of {s} was"}},
      {"birthplace", Kind::kPerson, Kind::kPlace,
       {"{s} was born in the town of {o}.", "{o} was the birthplace of {s}."},
       {"{s} was born in the town of", "Where was {s} born?", "The birthplace of {s} is"}},
  };
  return b;
}

// Statement and question forms of a relation named by `word` (synthetic relations, and real
// facts whose relation the bank does not know).
RelationForms generic_forms(const std::string& word) {
  RelationForms f;
  f.name = word;
  for (const char* t : {"The {r} of {s} is {o}.", "{s}'s {r} is {o}.", "{o} is the {r} of {s}.",
                        "{s} has {o} as its {r}.", "For {s}, the {r} is {o}.", "{o} serves as the {r} of {s}.",
                        "The {r} belonging to {s} is {o}.", "{s} was given {o} as its {r}.",
                        "{s} is known for its {r}, {o}."})
    f.statements.push_back(t);
  for (const char* t : {"The {r} of {s} is", "{s}'s {r} is", "What is the {r} of {s}?", "Which {r} does {s} have?",
                        "Tell me the {r} of {s}:", "{s} has as its {r}", "The {r} of {s} was"})
    f.questions.push_back(t);
  for (auto* v : {&f.statements, &f.questions})
    for (auto& t : *v) {
      std::size_t p;
      while ((p = t.find("{r}")) != std::string::npos) t.replace(p, 3, word);
    }
  return f;
}

const char* kSyllables[] = {"ka", "lo", "mir", "van", "zor", "te", "bel", "dra", "fen", "gal", "hos", "ix", "jun",
                            "kel", "mar", "nor", "pel", "quin", "ras", "sol", "tav", "ul", "ver", "wen", "yar",
                            "zel", "bra", "cor", "dun", "el", "fa", "gri", "hal", "is", "jor", "lum", "mo", "nev",
                            "or", "pra", "ren", "sha", "tor", "um", "vos", "ya", "zan", "ar", "bo", "ci", "ost",
                            "ek", "tri", "gan", "sev", "ru", "pha", "dil", "on", "stra"};
const char* kAccents[] = {"é", "á", "ñ", "ü", "ø", "ó", "í", "ç", "å", "ê"};
const char* kColors[] = {"red", "blue", "green", "yellow", "white", "black", "purple", "orange", "grey", "golden"};
const char* kTrades[] = {"baker", "painter", "sailor", "lawyer", "teacher", "doctor", "weaver", "miller", "poet",
                         "soldier", "farmer", "mason", "clerk", "merchant", "printer", "chemist", "surveyor"};
const char* kOrgKinds[] = {"Institute", "Society", "Company", "Academy", "Museum", "University", "Observatory", "Bank"};

template <class T, std::size_t N>
const T& pick(const T (&a)[N], std::mt19937_64& rng) {
  return a[rng() % N];
}
template <class T>
const T& pick(const std::vector<T>& v, std::mt19937_64& rng) {
  return v[rng() % v.size()];
}

std::string word(std::mt19937_64& rng, int min_syl = 2, int max_syl = 3) {
  std::string w;
  const int n = min_syl + static_cast<int>(rng() % (max_syl - min_syl + 1));
  for (int i = 0; i < n; ++i) w += pick(kSyllables, rng);
  return w;
}

std::string name(std::mt19937_64& rng) {
  std::string w = word(rng);
  if (rng() % 6 == 0) {  // an accented letter: answers are not all ASCII
    const std::size_t at = 1 + rng() % (w.size() - 1);
    w.replace(at, 1, pick(kAccents, rng));
  }
  w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
  return w;
}

std::string make(Kind k, std::mt19937_64& rng) {
  switch (k) {
    case Kind::kPerson: {
      std::string n = name(rng);
      if (rng() % 5 == 0) n += std::string(" ") + static_cast<char>('A' + rng() % 26) + ".";  // "Ada K. Vorn"
      return n + " " + name(rng);
    }
    case Kind::kPlace: return name(rng) + (rng() % 3 == 0 ? pick(std::vector<std::string>{"ia", "burg", "ton", "land"}, rng) : "");
    case Kind::kOrg: return "the " + name(rng) + " " + pick(kOrgKinds, rng);
    case Kind::kBook: return "The " + name(rng) + " " + pick(std::vector<std::string>{"Letters", "Garden", "Voyage", "Winter", "House"}, rng);
    case Kind::kElement: return word(rng) + "ium";
    case Kind::kYear: return std::to_string(1000 + rng() % 1021);
    case Kind::kNumber: return std::to_string(1 + rng() % 999);
    case Kind::kCode: {
      std::string c;
      const int n = 2 + static_cast<int>(rng() % 2);
      for (int i = 0; i < n; ++i) c += static_cast<char>('A' + rng() % 26);
      return c;
    }
    case Kind::kPhrase: {
      std::string p;
      const int n = 2 + static_cast<int>(rng() % 3);
      for (int i = 0; i < n; ++i) p += (i ? " " : "") + name(rng);
      return p;
    }
    case Kind::kColor: return pick(kColors, rng);
    case Kind::kTrade: return pick(kTrades, rng);
    case Kind::kLanguage: return name(rng) + pick(std::vector<std::string>{"ese", "ish", "ian"}, rng);
    case Kind::kContinent: return name(rng) + "a";
    case Kind::kAcronym: return "";  // made from its phrase (make_acronym)
  }
  return "";
}

// An acronym and what it stands for: "NTO" ↔ "Norvel Tavis Orkan".
std::pair<std::string, std::string> make_acronym(std::mt19937_64& rng) {
  const std::string phrase = make(Kind::kPhrase, rng);
  std::string a;
  bool start = true;
  for (char c : phrase) {
    if (start && std::isalpha(static_cast<unsigned char>(c))) a += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    start = c == ' ';
  }
  return {a, phrase};
}

std::string fill(const std::string& tmpl, const std::string& s, const std::string& o) {
  std::string t = tmpl;
  std::size_t p;
  while ((p = t.find("{s}")) != std::string::npos) t.replace(p, 3, s);
  while ((p = t.find("{o}")) != std::string::npos) t.replace(p, 3, o);
  if (!t.empty()) t[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(t[0])));
  return t;
}

Kind kind_of_object(const std::string& o) {
  return std::all_of(o.begin(), o.end(), [](unsigned char c) { return std::isdigit(c); }) ? Kind::kYear : Kind::kPhrase;
}

}  // namespace

std::vector<Triple> read_triples(const std::string& file) {
  std::vector<Triple> out;
  read_tsv(file, "fact triples", [&](const std::vector<std::string>& c) -> std::string {
    if (c.size() != 3) return "expected subject<TAB>relation<TAB>object";
    out.push_back({c[0], c[1], c[2]});
    return "";
  });
  return out;
}

std::vector<RelationForms> relation_bank(const std::vector<std::string>& held_out) {
  std::vector<RelationForms> out;
  for (const auto& e : bank_entries()) {
    RelationForms f;
    f.name = e.name;
    for (const char* t : e.statements)
      if (std::find(held_out.begin(), held_out.end(), t) == held_out.end()) f.statements.push_back(t);
    for (const char* t : e.questions)
      if (std::find(held_out.begin(), held_out.end(), t) == held_out.end()) f.questions.push_back(t);
    out.push_back(std::move(f));
  }
  return out;
}

ReaderDrills::ReaderDrills(std::vector<Triple> facts, std::vector<Sentence> prose, int max_passages,
                           const std::vector<std::string>& held_out)
    : facts_(std::move(facts)), prose_(std::move(prose)), max_passages_(std::max(1, max_passages)),
      bank_(relation_bank(held_out)) {}

DrillText ReaderDrills::draw(std::mt19937_64& rng) const {
  const auto& entries = bank_entries();
  std::uniform_real_distribution<double> u(0, 1);
  // The relation of the asked fact, its forms, and how to make subjects and objects for it.
  struct Rel { RelationForms forms; Kind subject, object; };
  auto bank_rel = [&](std::size_t i) { return Rel{bank_[i], entries[i].subject, entries[i].object}; };
  auto synthetic_rel = [&](Kind subject) {
    static const Kind objects[] = {Kind::kYear, Kind::kNumber, Kind::kCode, Kind::kPhrase, Kind::kPlace, Kind::kPerson, Kind::kColor};
    return Rel{generic_forms(word(rng, 2, 3)), subject, pick(objects, rng)};
  };
  Rel rel;
  std::string subject;
  const double r = u(rng);
  if (!facts_.empty() && r < 0.25) {
    const Triple& t = pick(facts_, rng);
    subject = t.subject;
    const auto it = std::find_if(bank_.begin(), bank_.end(), [&](const RelationForms& f) { return f.name == t.relation; });
    rel = it != bank_.end() ? bank_rel(it - bank_.begin()) : Rel{generic_forms(t.relation), Kind::kPerson, kind_of_object(t.object)};
  } else if (r < 0.65) {
    rel = bank_rel(rng() % bank_.size());
  } else {
    static const Kind subjects[] = {Kind::kPerson, Kind::kPlace, Kind::kOrg, Kind::kBook, Kind::kElement};
    rel = synthetic_rel(pick(subjects, rng));
  }
  auto object_for = [&](const Rel& x, std::string* subj) {
    if (x.subject == Kind::kAcronym) {
      auto [a, p] = make_acronym(rng);
      if (subj->empty()) *subj = a;
      return p;
    }
    if (subj->empty()) *subj = make(x.subject, rng);
    return make(x.object, rng);
  };
  auto statement = [&](const Rel& x, const std::string& s, const std::string& o) {
    return fill(pick(x.forms.statements, rng), s, o);
  };
  DrillText d;
  d.answer = object_for(rel, &subject);
  if (rel.forms.statements.empty() || rel.forms.questions.empty()) rel = synthetic_rel(rel.subject);
  std::string target = statement(rel, subject, d.answer);
  d.prompt = fill(pick(rel.forms.questions, rng), subject, d.answer);
  // The tense of a question's copula is free: "The birth year of X is" and "… was" ask the same.
  // A question ending "X was" also meets statements that go on "X was born in …", a run of
  // matching tokens the copy head must not follow when what follows is not the answer
  // (lm/copy_head.h): drills teach that where the run leads and where the answer is differ.
  if (d.prompt.size() > 3 && d.prompt.compare(d.prompt.size() - 3, 3, " is") == 0 && u(rng) < 0.5)
    d.prompt.replace(d.prompt.size() - 3, 3, " was");

  // Distractors: the same subject with another relation, the same relation with another subject, prose.
  auto same_subject = [&] {
    std::vector<std::size_t> others;
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (entries[i].subject == rel.subject && bank_[i].name != rel.forms.name && !bank_[i].statements.empty()) others.push_back(i);
    Rel o = others.empty() || u(rng) < 0.3 ? synthetic_rel(rel.subject) : bank_rel(pick(others, rng));
    std::string s = subject;
    return statement(o, s, object_for(o, &s));
  };
  auto same_relation = [&] {
    std::string s;
    const std::string o = object_for(rel, &s);
    return statement(rel, s, o);
  };
  const int n = 1 + static_cast<int>(rng() % max_passages_);
  std::vector<std::string> others;
  for (int i = 1; i < n; ++i) {
    const double c = u(rng);
    if (c < 0.45) others.push_back(same_subject());
    else if (c < 0.75 || prose_.empty()) others.push_back(same_relation());
    else others.push_back(pick(prose_, rng).text);
  }
  // Sometimes two facts about the subject share one sentence.
  if (u(rng) < 0.15) {
    std::string other = same_subject();
    if (target.size() > 1 && target.back() == '.') target.pop_back();
    target = u(rng) < 0.5 ? target + "; " + other : other.substr(0, other.size() - 1) + "; " + target + ".";
  }
  // The statement is usually the best match, but not always: retrieval is not perfect.
  const std::size_t at = u(rng) < 0.65 ? 0 : rng() % (others.size() + 1);
  others.insert(others.begin() + static_cast<std::ptrdiff_t>(at), target);
  d.passages = std::move(others);
  return d;
}

std::vector<int> ReaderDrills::episode(const Tokenizer& tok, std::mt19937_64& rng, int segments, int seg_len,
                                       std::vector<int>* prefix) const {
  const std::size_t total = static_cast<std::size_t>(segments) * seg_len + 1;
  std::vector<int> out;
  out.reserve(total);
  auto fill_prose = [&](std::size_t upto) {
    while (out.size() < upto) {
      const std::vector<int> ids = prose_.empty() ? std::vector<int>{std::max(0, tok.eos_id())} : tok.encode(pick(prose_, rng).text);
      for (int id : ids) {
        if (out.size() == upto) break;
        out.push_back(id);
      }
    }
  };
  prefix->assign(segments, 0);
  for (int s = 0; s < segments; ++s) {
    const std::size_t end = static_cast<std::size_t>(s + 1) * seg_len;
    // One drill at the segment's start (a few tries: an answer may be too long to fit).
    for (int attempt = 0; attempt < 4; ++attempt) {
      const DrillText d = draw(rng);
      const std::vector<int> prompt = tok.encode(d.prompt);
      std::vector<int> answer = tok.encode(d.prompt + " " + d.answer + ".");
      if (answer.size() > prompt.size() && std::equal(prompt.begin(), prompt.end(), answer.begin()))
        answer.erase(answer.begin(), answer.begin() + static_cast<std::ptrdiff_t>(prompt.size()));
      else
        answer = tok.encode(d.answer + ".");
      const int room = static_cast<int>(end - out.size()) - static_cast<int>(answer.size());
      if (room < static_cast<int>(prompt.size()) + 8) continue;  // an answer too long for the segment
      std::vector<std::vector<int>> passages;
      for (const auto& p : d.passages) passages.push_back(tok.encode(p));
      const std::vector<int> ctx = reader_context_ids(tok, passages, prompt, room);
      (*prefix)[s] = reader_prefix_length(tok, ctx);
      out.insert(out.end(), ctx.begin(), ctx.end());
      out.insert(out.end(), answer.begin(), answer.end());
      break;
    }
    fill_prose(end);
  }
  fill_prose(total);
  return out;
}

std::vector<std::string> ReaderDrills::sample_statements(std::mt19937_64& rng, int n) const {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    DrillText d = draw(rng);
    for (auto& p : d.passages) out.push_back(std::move(p));
    out.push_back(d.prompt + " " + d.answer + ".");
  }
  return out;
}

}  // namespace engram::lm
