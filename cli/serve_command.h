// cli/serve_command.h — the `serve` command, declared once for the two programs that have it:
// `engram` (cli/cmd_serve.cc), which links no LibTorch, and engram-lm, which loads a model for
// the server to run (--model DIR holding a checkpoint). Same flags, config file and behaviour.
#pragma once

#include <functional>
#include <optional>

namespace CLI {
class App;
}

namespace engram::server {
struct ServerOptions;
}

namespace engram::cli {

extern const char* const kServeDescription;

// Called with the final settings when --model is given, before the server starts: may load the
// model into options.model (engram-lm), or end the command with an exit status (`engram` hands a
// checkpoint folder to engram-lm). nullopt: serve with `options` as they are.
using ModelHook = std::function<std::optional<int>(server::ServerOptions& options)>;

// Declares serve's options on `cmd` and returns the command's run (its exit status).
std::function<int()> setup_serve(CLI::App& cmd, ModelHook model_hook);

}  // namespace engram::cli
