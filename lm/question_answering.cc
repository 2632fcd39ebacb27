// lm/question_answering.cc — retrieval, then reading.
#include "lm/question_answering.h"

#include "engram/error.h"
#include "lm/checkpoint.h"
#include "lm/language_model.h"
#include "lm/reader.h"

namespace engram::lm {

std::vector<Answer> answer_from_passages(LanguageModel& lm, MemoryInterface& memory,
                                         const std::vector<std::string>& prompts, const GenerateOptions& g) {
  LoadedModel& m = lm.loaded();
  if (m.cfg.read_passages <= 0 || !m.passage_keys || !can_read_passages(*m.tokenizer))
    throw Error(ErrorCode::kFailedPrecondition, "this model was not trained to read passages");
  const auto retrieved = retrieve_passages(memory, *m.passage_keys, prompts, m.cfg.read_passages);
  std::vector<Answer> out(prompts.size());
  // The context leaves room for the answer inside the model's positions.
  const int budget = std::max(8, m.cfg.block_size - g.max_new_tokens);
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    std::vector<std::vector<int>> passages;
    for (const auto& p : retrieved[i]) passages.push_back(m.tokenizer->encode(p.text));
    const std::vector<int> prompt_ids = m.tokenizer->encode(prompts[i]);
    const std::vector<int> ctx = reader_context_ids(*m.tokenizer, passages, prompt_ids, budget);
    const std::vector<int> ids = generate_ids(lm, ctx, g, nullptr, reader_prefix_length(*m.tokenizer, ctx));
    out[i].text = continuation_text(*m.tokenizer, prompt_ids, ids);
    out[i].passages = retrieved[i];
  }
  return out;
}

std::shared_ptr<Memory> passage_memory_for(LanguageModel& lm, Database& db, const std::string& name) {
  if (lm.passage_keys() == nullptr) return nullptr;
  const std::string pname = passage_memory_name(name);
  if (!db.has_memory(pname)) return nullptr;
  return open_passage_memory(db, pname, lm.passage_keys()->dim(), false);
}

}  // namespace engram::lm
