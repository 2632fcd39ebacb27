// cmd_serve.cc — `engram serve`: run the memory server until SIGINT/SIGTERM (cli/serve_command.h).
// `engram` links no LibTorch: given a model folder holding a checkpoint, the command is run by
// engram-lm instead, with the same arguments, so that the server can load the model.
#include <engram/server.h>
#include <spdlog/spdlog.h>

#include "cli/serve_command.h"
#include "command.h"
#include "lm/command_names.h"
#include "lm_forward.h"

namespace {

std::optional<int> hand_model_to_engram_lm(engram::server::ServerOptions& options) {
  if (!engram::lm::has_model_checkpoint(options.model_dir)) return std::nullopt;  // charts its loss.csv only
#ifdef ENGRAM_LM_BUILD_PATH
  return engram::cli::run_in_engram_lm();
#else
  spdlog::warn("{} holds a model, but this build has no LM layer (ENGRAM_BUILD_LM=OFF): only its loss.csv is served",
               options.model_dir);
  return std::nullopt;
#endif
}

engram::cli::Registration reg("serve", engram::cli::kServeDescription, [](CLI::App& cmd) {
  return engram::cli::setup_serve(cmd, hand_model_to_engram_lm);
});

}  // namespace
