// lm/corpus.h — documents, sentences and facts: the text side of training, ingestion and eval.
// No LibTorch here.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace engram::lm {

class Tokenizer;

// A line holding only this separates documents inside a text file.
inline constexpr const char* kDocSeparator = "<|endofdoc|>";

struct Document {
  std::string source;     // file name
  std::size_t offset = 0; // byte offset of the document in the file
  std::string text;
};

struct Sentence {
  std::string text;
  std::size_t offset = 0;  // byte offset in the document's file
};

struct Fact {
  std::string prompt;     // "Erwin Schrodinger died in the year"
  std::string answer;     // "1961"
  std::string relation;   // "died" (optional)
  std::string statement;  // how the fact is written when ingested; empty: prompt + " " + answer + "."
};

// The sentence that states the fact: its statement, or prompt + " " + answer, ended with a
// period unless the answer already ends a sentence ("U.S.").
std::string fact_statement(const Fact& f);

// Reads the files and splits them into documents at kDocSeparator lines. Empty documents are
// dropped. Throws engram::Error(kNotFound) for a missing file, kInvalidArgument if nothing but
// whitespace was read.
std::vector<Document> read_documents(const std::vector<std::string>& files);

// Splits at sentence ends (". ", "! ", "? ", newlines); offsets are kept. A period after an
// initial ("John L. H. Down"), inside a dotted abbreviation ("U.S.", "e.g.") or after a known
// short form ("Mr.", "Dr.", "etc.", "Inc.") does not end a sentence.
std::vector<Sentence> split_sentences(const Document& doc);

// Calls parse(columns) for each non-blank line of a tab-separated file; a non-empty return is
// an error, thrown as engram::Error(kInvalidArgument) naming the file and line. A missing file
// is kNotFound; a file without rows is kInvalidArgument (`what` names the rows).
void read_tsv(const std::string& file, const std::string& what,
              const std::function<std::string(const std::vector<std::string>&)>& parse);

// `prompt<TAB>answer[<TAB>relation]` lines. Throws kInvalidArgument naming the line when the
// answer is missing or there are more columns.
std::vector<Fact> read_facts(const std::string& file);

// `statement<TAB>prompt<TAB>answer[<TAB>relation]` lines: facts stated one way when ingested
// ("In 1871, the Zorvan Institute was founded.") and asked another ("The Zorvan Institute was
// founded in the year"). The statement must contain the answer. Throws kInvalidArgument naming
// the line otherwise.
std::vector<Fact> read_inverted_facts(const std::string& file);

// "X was born in the year" → "The year of the birth of X was" (and "died"); "" otherwise.
std::string rephrase_prompt(const std::string& prompt);

// Token segments of at most `max_len` tokens cut at sentence boundaries where possible, each
// token carrying the byte offset of its sentence (the payload of its memory slot).
struct Segment {
  std::vector<int> tokens;
  std::vector<std::size_t> offsets;
};
std::vector<Segment> pack_segments(const Tokenizer& tok, const Document& doc, int max_len);

// One segment per sentence (a sentence longer than max_len is cut into several): each sentence
// is encoded in a fresh context, so a sentence's keys depend on it alone, not on the text before
// it — the same keys a bare prompt with the same words produces. Offsets as in pack_segments.
std::vector<Segment> sentence_segments(const Tokenizer& tok, const Document& doc, int max_len);

// Documents that state facts as ordinary prose: several facts a paragraph, shuffled, mixed with
// prose sentences drawn from `prose`.
std::vector<Document> make_fact_documents(const std::vector<Fact>& facts,
                                          const std::vector<Sentence>& prose, std::mt19937_64& rng,
                                          int facts_per_paragraph = 4,
                                          int paragraphs_per_document = 6);

// Training episodes: `segments` × `seg_len` tokens (+1 for the last target).
// Prose: consecutive chunks of each document.
std::vector<std::vector<int>> prose_episodes(const Tokenizer& tok, const std::vector<Document>& docs,
                                             int segments, int seg_len);

// A recall drill: the first `knowledge_segments` segments state facts (prompts of `facts` with
// answers re-drawn at random, so no drill can be memorised in the weights), mixed with prose;
// the remaining segments ask them again (sometimes rephrased) and state the answers, so the
// answers can come only from the memory, beyond the local attention window.
std::vector<int> drill_episode(const Tokenizer& tok, const std::vector<Fact>& facts,
                               const std::vector<Sentence>& prose, std::mt19937_64& rng,
                               int segments, int seg_len, int knowledge_segments,
                               double rephrase_prob);

}  // namespace engram::lm
