// Passage retrieval and reading: lexical keys (fixed weights), the passage memory in a real
// engram database, the reader's context layout, reader drills, and the tokenizer they need.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include "engram/database.h"
#include "engram/error.h"
#include "lm/corpus.h"
#include "lm/lexical_keys.h"
#include "lm/passages.h"
#include "lm/qa_drills.h"
#include "lm/reader.h"
#include "lm/tokenizer.h"
#include "lm/word_families.h"
#include "lm/tests/test_util.h"

namespace engram::lm {
namespace {

using testing::TempDir;
using testing::testdata;

std::vector<std::string> sample_passages() {
  const auto docs = read_documents({testdata("austen-sample.txt")});
  std::vector<std::string> out;
  for (const auto& d : docs)
    for (auto& p : passage_units(d)) out.push_back(std::move(p));
  return out;
}

float dot(const std::vector<float>& a, const std::vector<float>& b) {
  float s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

TEST(LexicalKeys, UnitLengthAndRareWordsWeighMost) {
  const LexicalKeys k = LexicalKeys::build(sample_passages(), 256);
  const auto v = k.encode("The Zorvan Institute was founded in 1871.");
  EXPECT_NEAR(dot(v, v), 1.0f, 1e-4);
  EXPECT_GT(k.idf("zorvan"), k.idf("the") + 3);
  // No words: a zero key (the caller decides what to do with it).
  const auto z = k.encode("... !!");
  EXPECT_EQ(dot(z, z), 0.0f);
}

TEST(LexicalKeys, AStatementMeetsItsQuestionInOtherWords) {
  LexicalKeys k = LexicalKeys::build(sample_passages());
  k.use_families(std::make_shared<WordFamilies>(WordFamilies::load(testdata("word-families-sample.tsv"))));
  const std::string fact = "The Zorvan Institute was founded in 1871.";
  const std::vector<std::string> distractors = {
      "The Zorvan Institute stands in Kelmar.",        // same subject, another relation
      "The Ostravel Academy was founded in 1702.",     // same relation, another subject
      "Emma Woodhouse, handsome, clever, and rich, had lived nearly twenty-one years in the world."};
  for (const std::string q : {"In which year was the Zorvan Institute founded?",
                              "The founding year of the Zorvan Institute is",
                              "1871 saw the founding of which institute? The Zorvan"}) {
    const auto qv = k.encode(q);
    const float right = dot(qv, k.encode(fact));
    for (const auto& d : distractors) EXPECT_GT(right, dot(qv, k.encode(d))) << q << " vs " << d;
  }
}

TEST(LexicalKeys, SaveLoadRoundTripAndCorruption) {
  TempDir dir;
  const LexicalKeys k = LexicalKeys::build({"a rare word", "a common word", "a word"}, 64);
  k.save(dir / "keys.tsv");
  const LexicalKeys l = LexicalKeys::load(dir / "keys.tsv");
  EXPECT_EQ(l.dim(), 64);
  EXPECT_EQ(k.encode("rare word"), l.encode("rare word"));
  std::ofstream(dir / "bad.tsv") << "not a key table\n";
  EXPECT_THROW(LexicalKeys::load(dir / "bad.tsv"), Error);
  EXPECT_THROW(LexicalKeys::load(dir / "missing.tsv"), Error);
}

TEST(WordFamilies, LemmasOfInflectedAndIrregularFormsAndTheirFamilies) {
  const auto f = WordFamilies::load(testdata("word-families-sample.tsv"));
  const auto has = [](const std::vector<std::string>& v, const std::string& w) {
    return std::find(v.begin(), v.end(), w) != v.end();
  };
  EXPECT_TRUE(has(f.family_of("died"), "death"));     // "ed" → "e": die
  EXPECT_TRUE(has(f.family_of("dies"), "death"));     // "s" → "": die
  EXPECT_TRUE(has(f.family_of("deaths"), "die"));
  EXPECT_TRUE(has(f.family_of("born"), "birth"));     // its own lemma and the irregular "bear"
  EXPECT_TRUE(has(f.family_of("born"), "bearer"));
  EXPECT_TRUE(has(f.family_of("founded"), "establish"));
  EXPECT_TRUE(has(f.family_of("cities"), "metropolis"));  // "ies" → "y"
  EXPECT_TRUE(f.family_of("zorvan").empty());         // names have no family
  EXPECT_FALSE(has(f.family_of("born"), "death"));
  TempDir dir;
  f.save(dir / "f.tsv");
  EXPECT_EQ(WordFamilies::load(dir / "f.tsv").family_of("died"), f.family_of("died"));
  std::ofstream(dir / "bad.tsv") << "engram-word-families 1\nF die death\n";  // spaces, not tabs
  EXPECT_THROW(WordFamilies::load(dir / "bad.tsv"), Error);
  std::ofstream(dir / "other.tsv") << "engram-lexical-keys 1\n";
  EXPECT_THROW(WordFamilies::load(dir / "other.tsv"), Error);
  EXPECT_THROW(WordFamilies::load(dir / "missing.tsv"), Error);
}

// Asked about a relation in another form of its word, the subject's statement of that relation
// must outrank the subject's other statements; the words alone cannot tell (the born statement
// even shares "was" with the question), the families can.
TEST(LexicalKeys, WordFamiliesJoinARelationsForms) {
  // Document frequencies as in English prose: "was" in about one sentence of six (Austen's
  // novels: 15,733 of 94,070 passages); the sample chapter alone has too few.
  auto passages = sample_passages();
  for (int i = 0; i < static_cast<int>(passages.size()) / 5; ++i) passages.push_back("It was so.");
  LexicalKeys k = LexicalKeys::build(passages);
  const std::string died = "Ada Vorn died in 1908.", born = "Ada Vorn was born in 1850.";
  const std::string founded = "The Kelmar Society was founded in 1871.", stands = "The Kelmar Society stands in Kelmar.";
  const auto margin = [&](const std::string& q, const std::string& right, const std::string& wrong) {
    const auto qv = k.encode(q);
    return dot(qv, k.encode(right)) - dot(qv, k.encode(wrong));
  };
  const std::string ask_death = "The year of the death of Ada Vorn was";
  const std::string ask_birth = "The year of the birth of Ada Vorn was";
  const std::string ask_founding = "The Kelmar Society was established in the year";
  EXPECT_LT(margin(ask_death, died, born), 0);  // the words alone pick the wrong statement
  k.use_families(std::make_shared<WordFamilies>(WordFamilies::load(testdata("word-families-sample.tsv"))));
  EXPECT_GT(margin(ask_death, died, born), 0.02f);
  EXPECT_GT(margin(ask_birth, born, died), 0.02f);
  EXPECT_GT(margin(ask_founding, founded, stands), 0.02f);
  // The subject still decides: another person's death does not outrank Ada Vorn's birth, and
  // a name weighs as much as a relation word (a word with no family is its own), so asked in a
  // statement's own template, the subject's other statement outranks another person's
  // statement in that template (whose run of matching words would mislead the reader).
  EXPECT_GT(margin(ask_death, born, "Ivo Marsh died in 1908."), 0.1f);
  EXPECT_GT(margin("Ada Vorn was born in the year", "In 1908, Ada Vorn died.", "Ivo Marsh was born in the year 1850."), 0.02f);
}

TEST(Passages, ClausesOfLongSentencesGetTheirOwnSlots) {
  Document d{"x", 0, "Born in a small town, the painter Ada Vorn moved to Kelmar in 1890. Short one here.\n"};
  const auto u = passage_units(d);
  ASSERT_EQ(u.size(), 4u);  // the sentence, its two clauses, the short sentence
  EXPECT_EQ(u[1], "Born in a small town");
  EXPECT_EQ(u[2], "the painter Ada Vorn moved to Kelmar in 1890.");
}

TEST(Passages, RetrievedFromARealMemoryAmongDistractors) {
  TempDir dir;
  auto passages = sample_passages();
  const LexicalKeys keys = LexicalKeys::build(passages);
  passages.push_back("Ada Kelvorn was born in 1820.");
  passages.push_back("Ada Kelvorn died in 1881.");
  passages.push_back("Tomas Brevik was born in 1799.");
  Document inverted{"x", 0, "In 1871, the Zorvan Institute was founded on a hill near the river.\n"};
  for (auto& p : passage_units(inverted)) passages.push_back(std::move(p));
  auto db = Database::open(dir.path());
  auto mem = open_passage_memory(*db, passage_memory_name("facts"), keys.dim(), true);
  EXPECT_EQ(store_passages(*mem, keys, passages), static_cast<int64_t>(passages.size()));
  const auto r = retrieve_passages(*mem, keys, {"In which year did Ada Kelvorn die?", "When was Tomas Brevik born?",
                                               "The Zorvan Institute was founded in the year"}, 3);
  ASSERT_EQ(r.size(), 3u);
  // The clause without the year matches best; the whole sentence, which has it, is what is read.
  EXPECT_EQ(r[2][0].text, "In 1871, the Zorvan Institute was founded on a hill near the river.");
  ASSERT_GE(r[0].size(), 2u);
  // Both facts about the subject come first; the reader picks the relation.
  EXPECT_TRUE((r[0][0].text == "Ada Kelvorn died in 1881." && r[0][1].text == "Ada Kelvorn was born in 1820.") ||
              (r[0][1].text == "Ada Kelvorn died in 1881." && r[0][0].text == "Ada Kelvorn was born in 1820."));
  EXPECT_EQ(r[1][0].text, "Tomas Brevik was born in 1799.");
  EXPECT_GE(r[0][0].score, r[0][1].score);
  // A memory of another width is refused.
  EXPECT_THROW(open_passage_memory(*db, passage_memory_name("facts"), 64, false), Error);
}

class TokenizerFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::vector<std::string> texts;
    for (const auto& d : read_documents({testdata("austen-sample.txt")})) texts.push_back(d.text);
    Tokenizer::train(texts, 300, *dir_ / "tok.model", 1);
  }
  static void TearDownTestSuite() { delete dir_; }
  static Tokenizer tok() { return Tokenizer::load(*dir_ / "tok.model"); }
  static TempDir* dir_;
};
TempDir* TokenizerFixture::dir_ = nullptr;

TEST_F(TokenizerFixture, SpellsAnyAnswerAndSplitsDigits) {
  const Tokenizer t = tok();
  for (const std::string s : {"Bogotá", "Reykjavík", "Zürich", "São Tomé", "Ελλάδα", "1871"})
    EXPECT_EQ(t.decode(t.encode(s)), s);
  const auto ids = t.encode("1871");
  std::string joined;
  for (int id : ids) joined += t.piece(id);
  EXPECT_EQ(joined.find("18"), std::string::npos) << joined;  // one piece a digit
  EXPECT_TRUE(can_read_passages(t));
  EXPECT_EQ(t.piece_id("no-such-piece-xyz"), -1);
}

TEST_F(TokenizerFixture, ReaderContextLayout) {
  const Tokenizer t = tok();
  auto reader_context = [&](const std::vector<std::string>& passages, const std::string& prompt, int max_tokens) {
    std::vector<std::vector<int>> enc;
    for (const auto& p : passages) enc.push_back(t.encode(p));
    return reader_context_ids(t, enc, t.encode(prompt), max_tokens);
  };
  const int pm = t.piece_id(kPassageMark), qm = t.piece_id(kPromptMark);
  const auto prompt = t.encode("When was Ada born?");
  const auto ctx = reader_context({"Ada was born in 1820.", "Ada died in 1881."}, "When was Ada born?", 64);
  // <mem> second <mem> best <q> prompt: the best passage is nearest the prompt.
  ASSERT_EQ(ctx[0], pm);
  const auto q = std::find(ctx.begin(), ctx.end(), qm);
  ASSERT_NE(q, ctx.end());
  EXPECT_EQ(std::vector<int>(q + 1, ctx.end()), prompt);
  const auto best = t.encode("Ada was born in 1820.");
  EXPECT_TRUE(std::equal(best.rbegin(), best.rend(), std::make_reverse_iterator(q)));
  // A tight budget keeps the prompt whole and drops passages that do not fit.
  const auto tight = reader_context({"Ada was born in 1820.", "Ada died in 1881."}, "When was Ada born?",
                                    static_cast<int>(prompt.size()) + 1);
  EXPECT_EQ(tight.size(), prompt.size() + 1);
  EXPECT_EQ(tight[0], qm);
  EXPECT_EQ(reader_prefix_length(t, ctx), static_cast<int>(q - ctx.begin()));
  EXPECT_EQ(reader_prefix_length(t, tight), 0);
}

TEST_F(TokenizerFixture, DrillsStateTheAnswerInAPassageAndAskInOtherWords) {
  const Tokenizer t = tok();
  std::vector<Sentence> prose = {{"It was a truth universally acknowledged.", 0}};
  ReaderDrills drills({{"Ada Kelvorn", "born", "1820"}}, prose, 4);
  std::mt19937_64 rng(3);
  int differ = 0, traps = 0;
  for (int i = 0; i < 300; ++i) {
    const DrillText d = drills.draw(rng);
    ASSERT_FALSE(d.answer.empty());
    ASSERT_GE(d.passages.size(), 1u);
    ASSERT_LE(d.passages.size(), 4u);
    // (A sentence that starts with the answer capitalises it: "Red is the colour of ...".)
    auto lower = [](std::string x) {
      for (auto& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return x;
    };
    const bool stated = std::any_of(d.passages.begin(), d.passages.end(), [&](const std::string& p) {
      return lower(p).find(lower(d.answer)) != std::string::npos;
    });
    EXPECT_TRUE(stated) << d.prompt << " | " << d.answer << " | " << d.passages[0];
    // The eval's rephrasings are never trained on.
    EXPECT_EQ(d.prompt.find("The year of the birth of"), std::string::npos);
    differ += std::none_of(d.passages.begin(), d.passages.end(), [&](const std::string& p) {
      return p.rfind(d.prompt, 0) == 0;
    });
    // A trap for copying: the question ends on "X was", and a passage goes on from "X was" to
    // something other than the answer ("… of Ada Kelvorn was" / "Ada Kelvorn was born in …").
    const std::size_t cut = d.prompt.rfind(' ', d.prompt.rfind(' ') - 1);
    const std::string tail = d.prompt.substr(cut == std::string::npos ? 0 : cut + 1) + " ";
    const bool copula = d.prompt.size() > 4 && d.prompt.compare(d.prompt.size() - 4, 4, " was") == 0;
    traps += copula && std::any_of(d.passages.begin(), d.passages.end(), [&](const std::string& p) {
      const std::size_t at = p.find(tail);
      return at != std::string::npos && p.compare(at + tail.size(), d.answer.size(), d.answer) != 0;
    });
    if (i < 3) std::printf("drill: %s | %s | %s\n", d.passages[0].c_str(), d.prompt.c_str(), d.answer.c_str());
  }
  EXPECT_GT(differ, 150);  // most questions are not the statement's own words
  EXPECT_GT(traps, 12) << traps;  // and some end where a passage goes on to something else (5 before)
  std::vector<int> prefix;
  const auto ep = drills.episode(t, rng, 2, 96, &prefix);
  EXPECT_EQ(ep.size(), 2u * 96 + 1);
  ASSERT_EQ(prefix.size(), 2u);
  for (int s = 0; s < 2; ++s) {
    // Each segment opens with a drill: passages, the question mark inside the prefix, then the
    // answer right after it.
    ASSERT_GT(prefix[s], 2);
    const auto seg = ep.begin() + s * 96;
    EXPECT_EQ(seg[0], t.piece_id(kPassageMark));
    EXPECT_EQ(seg[prefix[s]], t.piece_id(kPromptMark));  // the prefix is the passages, up to the question
  }
}

TEST(QaDrills, TriplesFileErrorsNameTheLine) {
  TempDir dir;
  std::ofstream(dir / "t.tsv") << "Ada Kelvorn\tborn\t1820\nbroken line\n";
  try {
    read_triples(dir / "t.tsv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("t.tsv:2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_triples(dir / "none.tsv"), Error);
}

}  // namespace
}  // namespace engram::lm
