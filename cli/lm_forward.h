// cli/lm_forward.h — the LM layer's commands (train, generate, eval, tune-readout, ingest --text)
// run in engram-lm, the program that links LibTorch. `engram` itself does not link it, so the
// database commands start in milliseconds instead of paying LibTorch's load (~0.4 s, ~180 MB).
#pragma once

#include <optional>

namespace CLI {
class App;
}

namespace engram::cli {

// When argv asks for an LM command, replaces this process with engram-lm and the same
// arguments; returns an exit status only when that cannot be done (127: not found). nullopt:
// not an LM command.
std::optional<int> run_lm_command_if_asked(int argc, char** argv);

// Lists the LM commands in `app`'s --help (their own --help comes from engram-lm).
void list_lm_commands(CLI::App& app);

}  // namespace engram::cli
