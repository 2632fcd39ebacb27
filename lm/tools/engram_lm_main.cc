// engram-lm — the LM layer's commands as a stand-alone program, for builds without the
// `engram` command (ENGRAM_BUILD_SERVER=OFF). `engram` takes the same command lines; only
// `bench` (lm/bench/) is here alone.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "engram/error.h"
#include "lm/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"engram-lm: train, run and evaluate Engram's memory-augmented language model"};
  engram::lm::register_lm_commands(app);
  engram::lm::register_lm_ingest_command(app);
  engram::lm::register_lm_bench_command(app);
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const engram::Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", engram::error_code_name(e.code()), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
