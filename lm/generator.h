// lm/generator.h — text generation with a KV cache, reading the memory at every step.
// LibTorch-free interface.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace engram {
class MemoryInterface;
}

namespace engram::lm {

class LanguageModel;
class Tokenizer;

struct GenerateOptions {
  int max_new_tokens = 64;
  float temperature = 0.0f;  // 0: greedy
  int top_k = 0;             // 0: no top-k cut
  float top_p = 1.0f;        // 1: no nucleus cut
  uint64_t seed = 0;         // same seed, same model, same memory → same text
  bool stop_at_eos = true;
};

// A memory slot that the position predicting a token read, with the weight the read gave it
// (α of the memory sublayer, or p_kNN's weight with a kNN read-out).
struct SlotRead {
  uint64_t id = 0;
  float weight = 0;
};

// Continues `prompt` (token ids); returns the new ids only. `memory` may be null. The first
// `prefix` tokens of the prompt (a reader context, lm/reader.h) are read as a bidirectional
// prefix, as the model was trained to read them. With `reads`, also the slots each new token's
// prediction read (one entry per returned id; empty where nothing was read).
std::vector<int> generate_ids(LanguageModel& lm, const std::vector<int>& prompt,
                              const GenerateOptions& options, MemoryInterface* memory, int prefix = 0,
                              std::vector<std::vector<SlotRead>>* reads = nullptr);

// Text in, continuation text out.
std::string generate_text(LanguageModel& lm, const std::string& prompt,
                          const GenerateOptions& options, MemoryInterface* memory);

// The text of `continuation` as it reads after `prompt` (both token ids): decoded on its own a
// continuation loses its leading space, so the whole is decoded and the prompt's part removed.
std::string continuation_text(const Tokenizer& tok, const std::vector<int>& prompt, const std::vector<int>& continuation);

// Picks the next token from logits (exposed for tests): greedy when temperature is 0.
int sample_token(const std::vector<float>& logits, const GenerateOptions& options, uint64_t* rng_state);

}  // namespace engram::lm
