// lm/model_service.h — a trained model behind the server's engram::server::ModelService, so
// that `engram-lm serve --model DIR` lets clients (the console) encode text into memory queries
// and generate text with the slots each token read. LibTorch-free interface.
#pragma once

#include <memory>
#include <string>

#include <engram/model_service.h>

namespace CLI {
class App;
}

namespace engram::lm {

// Loads the checkpoint in `dir` onto `device`. Throws engram::Error as LanguageModel::load.
// Calls are serialized: one encode or generation runs the model at a time.
std::shared_ptr<server::ModelService> load_model_service(const std::string& dir, const std::string& device = "cpu");

// `serve` in engram-lm (lm/serve_command.cc): `engram serve`'s command, loading --model's
// checkpoint when its folder holds one.
void register_lm_serve_command(CLI::App& app);

}  // namespace engram::lm
