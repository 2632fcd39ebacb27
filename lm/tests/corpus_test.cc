// Text handling the reader depends on: sentence ends around abbreviations, facts that never
// merge into the prose before them, fact files with relations and inverted statements.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "engram/error.h"
#include "lm/corpus.h"
#include "lm/tests/test_util.h"

namespace engram::lm {
namespace {

using testing::TempDir;

std::vector<std::string> sentences(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& s : split_sentences(Document{"f", 0, text})) out.push_back(s.text);
  return out;
}

TEST(Splitter, AbbreviationsDoNotEndASentence) {
  EXPECT_EQ(sentences("NATO stands for North Atlantic Treaty Organization. The U.S. joined in 1949. Next."),
            (std::vector<std::string>{"NATO stands for North Atlantic Treaty Organization.", "The U.S. joined in 1949.",
                                      "Next."}));
  EXPECT_EQ(sentences("Metals, e.g. iron, rust. Acme Inc. was founded in 1900. Dr. No. 5 left."),
            (std::vector<std::string>{"Metals, e.g. iron, rust.", "Acme Inc. was founded in 1900.", "Dr. No. 5 left."}));
  EXPECT_EQ(sentences("She holds a Ph.D. in chemistry. It ended in 1871. Then"),
            (std::vector<std::string>{"She holds a Ph.D. in chemistry.", "It ended in 1871.", "Then"}));
  // At the end of a sentence: the next word usually starts one.
  EXPECT_EQ(sentences("He moved to the U.S. The next year he left. Pens, inks etc. They sold."),
            (std::vector<std::string>{"He moved to the U.S.", "The next year he left.", "Pens, inks etc.", "They sold."}));
}

TEST(FactDocuments, AFactNeverJoinsProseWithoutEndPunctuation) {
  std::mt19937_64 rng(1);
  // Prose that does not end a sentence (a heading, a cut quotation) before every fact.
  std::vector<Sentence> prose = {{"CHAPTER ONE", 0}, {"\"Why, my dear", 0}};
  std::vector<Fact> facts = {{"Ada Kelvorn was born in the year", "1820", "born", ""},
                             {"NATO stands for", "North Atlantic Treaty Organization", "", ""},
                             {"The country is called", "the U.S.", "", ""}};
  for (int rep = 0; rep < 20; ++rep) {
    const auto docs = make_fact_documents(facts, prose, rng, 2, 2);
    std::vector<std::string> got;
    for (const auto& d : docs)
      for (const auto& s : split_sentences(d)) got.push_back(s.text);
    for (const auto& f : facts) {
      const std::string st = fact_statement(f);
      EXPECT_NE(std::find(got.begin(), got.end(), st), got.end()) << "'" << st << "' is not a sentence of its own";
    }
  }
  EXPECT_EQ(fact_statement(facts[2]), "The country is called the U.S.");  // no second period
}

TEST(FactFiles, RelationsAndInvertedStatements) {
  TempDir dir;
  std::ofstream(dir / "f.tsv") << "Ada Kelvorn was born in the year\t1820\tborn\nX is\tY\n";
  const auto f = read_facts(dir / "f.tsv");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].relation, "born");
  EXPECT_EQ(f[1].relation, "");
  std::ofstream(dir / "i.tsv") << "In 1820, Ada Kelvorn was born.\tAda Kelvorn was born in the year\t1820\tborn\n";
  const auto i = read_inverted_facts(dir / "i.tsv");
  ASSERT_EQ(i.size(), 1u);
  EXPECT_EQ(fact_statement(i[0]), "In 1820, Ada Kelvorn was born.");
  EXPECT_EQ(i[0].prompt, "Ada Kelvorn was born in the year");
  std::ofstream(dir / "bad.tsv") << "X is\tY\ta\tb\n";
  EXPECT_THROW(read_facts(dir / "bad.tsv"), Error);
  std::ofstream(dir / "empty-col.tsv") << "X is\t\n";
  EXPECT_THROW(read_facts(dir / "empty-col.tsv"), Error);
}

}  // namespace
}  // namespace engram::lm
