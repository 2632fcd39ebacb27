// lm/question_answering.h — answering prompts from a passage memory: one batched retrieval for
// all prompts (lm/passages.h), then each prompt completed with its passages in context
// (lm/reader.h). Used by `engram generate --memory` and `engram eval`. LibTorch-free interface.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lm/generator.h"
#include "lm/passages.h"

namespace engram {
class MemoryInterface;
}

namespace engram::lm {

class LanguageModel;

struct Answer {
  std::string text;                        // the continuation
  std::vector<RetrievedPassage> passages;  // what was read, best first
};

// Throws engram::Error(kFailedPrecondition) when the model was not trained to read passages.
std::vector<Answer> answer_from_passages(LanguageModel& lm, MemoryInterface& passages,
                                         const std::vector<std::string>& prompts, const GenerateOptions& options);

// The passage memory that goes with the model's memory `name` in `db`, when the model reads
// passages and that memory exists (else null).
std::shared_ptr<Memory> passage_memory_for(LanguageModel& lm, Database& db, const std::string& name);

}  // namespace engram::lm
