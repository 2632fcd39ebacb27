// cmd_search.cc — `engram search`: the k nearest slots of every query in a vector file.
#include <climits>
#include <memory>

#include <engram/engram.h>

#include "cli/search_flags.h"
#include "command.h"
#include "ingest/cli_common.h"
#include "ingest/vector_file.h"

namespace {

struct Options {
  std::string data, memory, queries, out, scores;
  int k = 10;
  engram::cli::SearchFlags flags;
  std::size_t batch = 1024;
};

engram::cli::Registration reg("search", "k-nearest slot ids of each query (.fvecs/.bvecs/.npy) into an .ivecs file",
                              [](CLI::App& cmd) {
  auto o = std::make_shared<Options>();
  cmd.add_option("--data", o->data, "Database folder")->required();
  cmd.add_option("--memory", o->memory, "Memory to search")->required();
  cmd.add_option("--queries", o->queries, "Query vectors (.fvecs, .bvecs, .npy)")->required();
  cmd.add_option("--k", o->k, "Results per query")->capture_default_str()->check(CLI::Range(1, engram::kMaxK));
  o->flags.add_to(cmd);
  cmd.add_option("--out", o->out, "Slot ids, one .ivecs record of k per query (-1: fewer than k slots)")->required();
  cmd.add_option("--scores", o->scores, "Also write the scores (.fvecs; higher is closer)");
  cmd.add_option("--batch", o->batch, "Queries per search call")->capture_default_str()->check(CLI::PositiveNumber);
  return [o]() -> int {
    engram::ingest::log_to_stderr();
    engram::SearchOptions options = o->flags.options(o->k);
    auto db = engram::ingest::open_existing(o->data, engram::ingest::Access::kReadOnly);
    auto mem = db->memory(o->memory);
    const std::size_t dim = static_cast<std::size_t>(mem->config().key_dim), k = static_cast<std::size_t>(o->k);
    const std::vector<float> q = engram::ingest::read_queries(o->queries, dim);
    const std::size_t n = q.size() / dim;
    engram::ingest::VecsWriter ids_out(o->out);
    std::unique_ptr<engram::ingest::VecsWriter> scores_out;
    if (!o->scores.empty()) scores_out = std::make_unique<engram::ingest::VecsWriter>(o->scores);
    std::vector<std::int32_t> ids;
    for (std::size_t b = 0; b < n; b += o->batch) {
      const std::size_t m = std::min(o->batch, n - b);
      auto r = mem->search(engram::MatrixView(q.data() + b * dim, m, dim), options);
      ids.resize(r.ids.size());
      for (std::size_t i = 0; i < r.ids.size(); ++i) {
        // .ivecs holds int32, the common currency of ANN ground-truth files.
        if (r.ids[i] != engram::kNoSlot && r.ids[i] > static_cast<engram::SlotId>(INT32_MAX)) {
          throw engram::Error(engram::ErrorCode::kFailedPrecondition,
                              "slot id " + std::to_string(r.ids[i]) + " does not fit an .ivecs record");
        }
        ids[i] = r.ids[i] == engram::kNoSlot ? -1 : static_cast<std::int32_t>(r.ids[i]);
      }
      ids_out.write_ints(ids.data(), m, k);
      if (scores_out) scores_out->write_floats(r.scores.data(), m, k);
    }
    ids_out.close();
    if (scores_out) scores_out->close();
    std::fprintf(stderr, "searched %zu queries (k=%d) of memory '%s'\n", n, o->k, o->memory.c_str());
    return 0;
  };
});

}  // namespace
