// lm/language_model.cc — the LibTorch-free facade over LoadedModel.
#include "lm/language_model.h"

#include "lm/checkpoint.h"
#include "lm/device.h"

namespace engram::lm {

std::unique_ptr<LanguageModel> LanguageModel::load(const std::string& dir, const std::string& device) {
  return std::make_unique<LanguageModel>(
      std::make_unique<LoadedModel>(load_checkpoint(dir, parse_device(device))));
}

LanguageModel::LanguageModel(std::unique_ptr<LoadedModel> m) : m_(std::move(m)) {}
LanguageModel::~LanguageModel() = default;
const ModelConfig& LanguageModel::config() const { return m_->cfg; }
const Tokenizer& LanguageModel::tokenizer() const { return *m_->tokenizer; }
const LexicalKeys* LanguageModel::passage_keys() const { return m_->passage_keys.get(); }

}  // namespace engram::lm
