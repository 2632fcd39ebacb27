// lm/command_names.h — the LM layer's commands by name and purpose. `engram` runs them in
// engram-lm, the one program that links LibTorch (cli/lm_forward.h), and lists them in its
// --help; engram-lm registers them (lm/commands.cc). Header-only and LibTorch-free.
#pragma once

#include <filesystem>
#include <string>

namespace engram::lm {

struct LmCommand {
  const char* name;
  const char* description;
};

inline constexpr LmCommand kLmCommands[] = {
    {"train", "train the memory-augmented language model on text files"},
    {"generate", "continue a prompt (or answer it from a memory)"},
    {"eval", "held-out perplexity and unseen-fact recall, with and without memory"},
    {"tune-readout", "pick the kNN read-out (sharpness, λ) on dev facts and validation text; stored in the model"},
};

// `ingest` with one of these options encodes text with a model: an LM command too.
inline constexpr const char* kTextIngestOptions[] = {"--text", "--model", "-m"};

// Whether `dir` holds a model checkpoint (lm/checkpoint.h writes both files): `serve --model
// DIR` then loads the model, in engram-lm. A folder with only a loss.csv is charted, not loaded.
inline bool has_model_checkpoint(const std::string& dir) {
  std::error_code ec;
  const std::filesystem::path d(dir);
  return std::filesystem::is_regular_file(d / "config.json", ec) && std::filesystem::is_regular_file(d / "model.pt", ec);
}

}  // namespace engram::lm
