// lm/language_model.h — a loaded, trained model behind a LibTorch-free interface, so that
// command-line and application code can hold one without compiling LibTorch headers.
#pragma once

#include <memory>
#include <string>

#include "lm/lexical_keys.h"
#include "lm/model_config.h"
#include "lm/tokenizer.h"

namespace engram::lm {

struct LoadedModel;

class LanguageModel {
 public:
  // Loads the checkpoint in `dir` onto `device` ("cpu", "cuda"). Throws engram::Error.
  static std::unique_ptr<LanguageModel> load(const std::string& dir, const std::string& device = "cpu");
  explicit LanguageModel(std::unique_ptr<LoadedModel> m);
  ~LanguageModel();

  const ModelConfig& config() const;
  const Tokenizer& tokenizer() const;
  // The passage memory's keys; null when the model does not read passages.
  const LexicalKeys* passage_keys() const;
  LoadedModel& loaded() { return *m_; }

 private:
  std::unique_ptr<LoadedModel> m_;
};

}  // namespace engram::lm
