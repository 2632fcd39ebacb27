// lm/commands.h — the LM layer's subcommands for a CLI11 application:
//   train, generate, ingest-text, eval
// The main `engram` executable and lm/tools/engram_lm_main.cc both call this.
#pragma once

namespace CLI {
class App;
}

namespace engram::lm {

void register_lm_commands(CLI::App& app);

// The throughput benchmark (`bench`), used by lm/bench/ for the side-by-side comparison.
void register_lm_bench_command(CLI::App& app);

}  // namespace engram::lm
