// engram-lm — the LM layer's commands: train, generate, eval, tune-readout, ingest --text and
// bench. The one program that links LibTorch: `engram` hands these commands to it
// (cli/lm_forward.h), so both take the same command lines and answer alike — usage errors exit
// 2, failures 1 with the error logged.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <exception>

#include "engram/error.h"
#include "lm/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"engram-lm: train, run and evaluate Engram's memory-augmented language model"};
  engram::lm::register_lm_commands(app);
  engram::lm::register_lm_ingest_command(app);
  engram::lm::register_lm_bench_command(app);
  app.require_subcommand(1);
  // The commands run as CLI11 callbacks, inside parse().
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const engram::Error& e) {
    spdlog::error("{} ({})", e.what(), engram::error_code_name(e.code()));
    return 1;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 0;
}
