// cmd_read.cc — `engram read`: attention reads (softmax over the top-k slots) of every query.
#include <memory>

#include <engram/engram.h>

#include "cli/search_flags.h"
#include "command.h"
#include "ingest/cli_common.h"
#include "ingest/vector_file.h"

namespace {

struct Options {
  std::string data, memory, queries, out;
  int k = 32;
  float temperature = 0;
  engram::cli::SearchFlags flags;
  std::size_t batch = 1024;
};

engram::cli::Registration reg("read", "Attention reads r = Σ softmax(s/τ)·v over the top-k slots, into an .fvecs file",
                              [](CLI::App& cmd) {
  auto o = std::make_shared<Options>();
  cmd.add_option("--data", o->data, "Database folder")->required();
  cmd.add_option("--memory", o->memory, "Memory to read")->required();
  cmd.add_option("--queries", o->queries, "Query vectors (.fvecs, .bvecs, .npy)")->required();
  cmd.add_option("--k", o->k, "Slots attended per query")->capture_default_str()->check(CLI::Range(1, engram::kMaxK));
  cmd.add_option("--temperature", o->temperature, "τ (0: the memory's own)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  o->flags.add_to(cmd);
  cmd.add_option("--out", o->out, "Read vectors, one .fvecs record of value_dim per query")->required();
  cmd.add_option("--batch", o->batch, "Queries per read call")->capture_default_str()->check(CLI::PositiveNumber);
  return [o]() -> int {
    engram::ingest::log_to_stderr();
    engram::SearchOptions options = o->flags.options(o->k);
    options.temperature = o->temperature;
    auto db = engram::ingest::open_existing(o->data, engram::ingest::Access::kReadOnly);
    auto mem = db->memory(o->memory);
    const auto cfg = mem->config();
    const std::size_t dim = static_cast<std::size_t>(cfg.key_dim);
    const std::vector<float> q = engram::ingest::read_queries(o->queries, dim);
    const std::size_t n = q.size() / dim;
    engram::ingest::VecsWriter out(o->out);
    for (std::size_t b = 0; b < n; b += o->batch) {
      const std::size_t m = std::min(o->batch, n - b);
      auto r = mem->read(engram::MatrixView(q.data() + b * dim, m, dim), options);
      out.write_floats(r.reads.data(), m, r.value_dim);
    }
    out.close();
    std::fprintf(stderr, "read %zu queries (k=%d) of memory '%s'\n", n, o->k, o->memory.c_str());
    return 0;
  };
});

}  // namespace
