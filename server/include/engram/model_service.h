// engram/model_service.h — a language model the server can run for its clients: encode text
// into a query vector of the model's memory, and generate text while reading a memory, saying
// which slots each generated token read (GET /v1/model, POST /v1/model/encode and
// /v1/model/generate; the console's Query and Generate views).
//
// The server itself links no LibTorch: it holds this interface, and the LM layer implements it
// (lm/model_service.h, run by `engram-lm serve`). Without one those routes answer 404.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engram/types.h"

namespace engram {
class MemoryInterface;
}

namespace engram::server {

// What is loaded, for GET /v1/model.
struct ModelInfo {
  std::string dir;          // the model folder it was loaded from
  int vocab_size = 0;
  int layers = 0;
  int width = 0;
  int block_size = 0;       // positions: longer text keeps its end
  int memory_dim = 0;       // key_dim = value_dim of the memories it reads (0: no memory layer)
  int memory_k = 0;         // slots each position reads
  bool knn = false;         // kNN-LM read-out: a slot's value is the token it votes for
  std::string read_out;     // "attention" or "knn"; "" without a memory layer
};

struct GenerateParams {
  std::string prompt;
  int max_new_tokens = 32;
  float temperature = 0.0f;  // 0: greedy
  int top_k = 0;             // 0: no cut
  float top_p = 1.0f;        // 1: no cut
  std::uint64_t seed = 0;
};

// A slot one generated token's prediction read, with the weight the read gave it.
struct TokenRead {
  SlotId id = kNoSlot;
  float weight = 0;
  std::string payload;
};

struct GeneratedToken {
  int token = 0;          // the token id
  std::string text;       // what it adds to the text
  std::vector<TokenRead> reads;  // best first; empty when nothing was read
};

struct Generation {
  std::string text;  // the continuation (without the prompt)
  std::vector<GeneratedToken> tokens;
};

// Implementations must be safe to call from several request threads at once.
class ModelService {
 public:
  virtual ~ModelService() = default;
  virtual ModelInfo info() const = 0;
  // The query the model's memory sublayer would make after reading `text` (its last position):
  // memory_dim numbers. Throws engram::Error(kInvalidArgument) for empty text or a model
  // without a memory layer.
  virtual std::vector<float> encode(const std::string& text) = 0;
  // Continues params.prompt; `memory` (nullable) is read at every step. Throws engram::Error
  // (kInvalidArgument when the memory's widths are not the model's).
  virtual Generation generate(const GenerateParams& params, MemoryInterface* memory) = 0;
};

}  // namespace engram::server
