// lm/reader.cc — the reader's context layout.
#include "lm/reader.h"

#include <algorithm>

#include "engram/error.h"
#include "lm/tokenizer.h"

namespace engram::lm {

bool can_read_passages(const Tokenizer& tok) {
  return tok.piece_id(kPassageMark) >= 0 && tok.piece_id(kPromptMark) >= 0;
}

std::vector<int> reader_context_ids(const Tokenizer& tok, const std::vector<std::vector<int>>& passages,
                                    const std::vector<int>& prompt, int max_tokens) {
  if (!can_read_passages(tok))
    throw Error(ErrorCode::kFailedPrecondition, "this model was not trained to read passages");
  const int pmark = tok.piece_id(kPassageMark), qmark = tok.piece_id(kPromptMark);
  std::vector<int> q = {qmark};
  const std::size_t keep = std::min<std::size_t>(prompt.size(), std::max(0, max_tokens - 1));
  q.insert(q.end(), prompt.end() - keep, prompt.end());
  int left = max_tokens - static_cast<int>(q.size());
  std::vector<std::vector<int>> chosen;  // best first
  for (const auto& p : passages) {
    if (left < 4) break;  // a mark and a few tokens: less is not worth reading
    const std::size_t n = std::min<std::size_t>(p.size(), left - 1);
    std::vector<int> part = {pmark};
    part.insert(part.end(), p.end() - n, p.end());
    left -= static_cast<int>(part.size());
    chosen.push_back(std::move(part));
  }
  std::vector<int> out;
  for (auto it = chosen.rbegin(); it != chosen.rend(); ++it) out.insert(out.end(), it->begin(), it->end());
  out.insert(out.end(), q.begin(), q.end());
  return out;
}

int reader_prefix_length(const Tokenizer& tok, const std::vector<int>& context) {
  const int qmark = tok.piece_id(kPromptMark);
  const auto it = std::find(context.rbegin(), context.rend(), qmark);
  return it == context.rend() ? 0 : static_cast<int>(context.rend() - it) - 1;
}

}  // namespace engram::lm
