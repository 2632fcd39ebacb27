// lm/serve_command.cc — `engram-lm serve`: the same command as `engram serve`
// (cli/serve_command.h), with a model folder's checkpoint loaded for the server to run
// (GET /v1/model, POST /v1/model/encode and /v1/model/generate). `engram serve --model DIR`
// hands itself over to this when DIR holds a checkpoint.
#include <CLI/CLI.hpp>
#include <engram/server.h>
#include <spdlog/spdlog.h>

#include "cli/serve_command.h"
#include "lm/command_names.h"
#include "lm/model_service.h"

namespace engram::lm {

void register_lm_serve_command(CLI::App& app) {
  auto* c = app.add_subcommand("serve", cli::kServeDescription);
  auto run = cli::setup_serve(*c, [](server::ServerOptions& o) -> std::optional<int> {
    if (has_model_checkpoint(o.model_dir)) {
      o.model = load_model_service(o.model_dir);
      const server::ModelInfo i = o.model->info();
      spdlog::info("model {}: {} layers, width {}, memory width {} ({} read-out)", i.dir, i.layers, i.width,
                   i.memory_dim, i.read_out.empty() ? "no" : i.read_out);
    }
    return std::nullopt;
  });
  c->callback([run] {
    if (const int rc = run(); rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace engram::lm
