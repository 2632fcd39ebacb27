// lm/tokenizer.h — a SentencePiece tokenizer, trained on the corpus and saved with the model.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace engram::lm {

class Tokenizer {
 public:
  // Trains a unigram SentencePiece model of `vocab_size` pieces on `texts` (any number of
  // strings; each line is a sentence for SentencePiece) and writes it to `model_path`. Any
  // UTF-8 text can be encoded (byte fallback); digits are single pieces; the reader's marks
  // (lm/reader.h) are pieces of their own. A vocab_size too small for the 256 byte pieces and
  // the corpus's characters is raised to fit.
  // Throws engram::Error(kInvalidArgument) for an empty corpus, or if SentencePiece fails.
  static void train(const std::vector<std::string>& texts, int vocab_size,
                    const std::string& model_path, int threads = 2);

  // Loads a trained model. Throws engram::Error(kNotFound) if the file is missing,
  // kCorruption if it is not a SentencePiece model.
  static Tokenizer load(const std::string& model_path);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  std::vector<int> encode(const std::string& text) const;
  std::string decode(const std::vector<int>& ids) const;
  std::string piece(int id) const;
  // The id of a piece (e.g. a reader mark), or −1 when the vocabulary lacks it.
  int piece_id(const std::string& piece) const;
  int vocab_size() const;
  int eos_id() const;

  // The serialized model (what load() reads), to copy it into a checkpoint.
  const std::string& model_path() const { return path_; }

 private:
  Tokenizer();
  struct Handle;  // the SentencePiece processor, reached through lm/spm_shim.cc
  std::unique_ptr<Handle> sp_;
  std::string path_;
};

}  // namespace engram::lm
