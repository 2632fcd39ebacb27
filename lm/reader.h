// lm/reader.h — how the model reads retrieved passages: in its own context, before the prompt.
//
//   <|mem|> passage₃ <|mem|> passage₂ <|mem|> passage₁ <|q|> prompt  →  answer
//
// The best passage sits nearest the prompt. Each part is encoded on its own, so the prompt's
// tokens are those of the bare prompt. Training drills (lm/qa_drills.h) build the same layout.
// No LibTorch here.
#pragma once

#include <string>
#include <vector>

namespace engram::lm {

class Tokenizer;

inline constexpr const char* kPassageMark = "<|mem|>";
inline constexpr const char* kPromptMark = "<|q|>";
inline constexpr const char* kReaderMarks[] = {kPassageMark, kPromptMark};

// True when the tokenizer holds both marks (a model trained to read passages).
bool can_read_passages(const Tokenizer& tok);

// The context for `prompt` with `passages` (best first, all encoded), within `max_tokens`:
// passages are taken best first while they fit (a passage longer than what is left is cut to
// its end); the prompt is always whole (the start of a prompt longer than max_tokens is dropped).
std::vector<int> reader_context_ids(const Tokenizer& tok, const std::vector<std::vector<int>>& passages,
                                    const std::vector<int>& prompt, int max_tokens);

// The passages' part of a context (everything before the prompt mark): the model reads it as a
// bidirectional prefix, so a passage's every token knows the whole passage ("1871" in "In 1871,
// the Zorvan Institute was founded." knows what it is the year of); the question and the answer
// after it are read causally.
int reader_prefix_length(const Tokenizer& tok, const std::vector<int>& context);

}  // namespace engram::lm
