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
// not an LM command. Call first thing in main(): it also keeps argv for run_in_engram_lm().
std::optional<int> run_lm_command_if_asked(int argc, char** argv);

// Replaces this process with engram-lm and the arguments run_lm_command_if_asked() was given,
// for a command found to need the LM only once parsed (`serve --model` with a checkpoint, which
// a --config file may name); returns an exit status only when that cannot be done.
int run_in_engram_lm();

// Lists the LM commands in `app`'s --help (their own --help comes from engram-lm).
void list_lm_commands(CLI::App& app);

}  // namespace engram::cli
