// engram-lm — the LM layer's commands: train, generate, eval, tune-readout, ingest --text,
// bench, and serve (the memory server with a model loaded, lm/serve_command.cc). The one program that links LibTorch: `engram` hands these commands to it
// (cli/lm_forward.h), so both take the same command lines and answer alike — usage errors exit
// 2, failures 1 with the error logged.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <spdlog/spdlog.h>

#include <exception>

#include "cli/help_format.h"
#include "cli/logging.h"
#include "cli/suggest.h"
#include "engram/error.h"
#include "lm/commands.h"

#ifdef ENGRAM_LM_SERVE
#include "lm/model_service.h"
#endif

int main(int argc, char** argv) {
  CLI::App app{"engram-lm: train, run and evaluate Engram's memory-augmented language model"};
  engram::cli::use_help_formatter(app);
  engram::cli::LogSettings log;
  engram::cli::configure_logging(log);
  engram::cli::add_log_options(app, log);
  engram::lm::register_lm_commands(app);
  engram::lm::register_lm_ingest_command(app);
  engram::lm::register_lm_bench_command(app);
#ifdef ENGRAM_LM_SERVE
  engram::lm::register_lm_serve_command(app);
#endif
  app.require_subcommand(1);
  // The commands run as CLI11 callbacks, inside parse().
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return engram::cli::parse_error_exit(app, e);
  } catch (const engram::Error& e) {
    engram::cli::print_error(std::string(e.what()) + " (" + engram::error_code_name(e.code()) + ")");
    return 1;
  } catch (const std::exception& e) {
    engram::cli::print_error(e.what());
    return 1;
  }
  return 0;
}
