// lm/commands.h — the LM layer's subcommands for a CLI11 application:
//   train, generate, eval, tune-readout
// and text ingestion (`ingest --text FILE... --model M --data DB --memory NAME`). The main
// `engram` executable (cli/main.cc; its `ingest` sends --text here, cli/cmd_ingest.cc) and the
// stand-alone lm/tools/engram_lm_main.cc both use these, so both take the same command lines.
// LibTorch-free.
#pragma once

#include <string>
#include <vector>

#include "lm/ingest.h"

namespace CLI {
class App;
}

namespace engram::lm {

void register_lm_commands(CLI::App& app);

// Text ingestion: what `ingest --text` needs besides the files, the database and the memory.
struct TextIngestArgs {
  std::vector<std::string> files;
  std::string model, data, memory = "knowledge", device = "cpu";
  int threads = 2;
  IngestOptions io;
};
// --model, --batch, --packed, --refresh-threshold, --threads, --device.
void add_text_ingest_options(CLI::App& cmd, TextIngestArgs& args);
// Encodes and inserts; prints one JSON line. Throws engram::Error.
int run_text_ingest(const TextIngestArgs& args);
// `ingest --text ... --data ... [--memory ...]` as its own subcommand (engram-lm).
void register_lm_ingest_command(CLI::App& app);

// The throughput benchmark (`bench`), used by lm/bench/ for the side-by-side comparison.
void register_lm_bench_command(CLI::App& app);

}  // namespace engram::lm
