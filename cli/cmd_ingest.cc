// cmd_ingest.cc — `engram ingest`: bulk-load vectors from files into a memory (docs/ingest.md).
#include <csignal>
#include <cstdio>
#include <memory>

#include <engram/engram.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "command.h"
#include "ingest/cli_common.h"
#include "ingest/pipeline.h"
#include "ingest/upsert.h"

namespace {

std::atomic<bool> g_stop{false};

// First SIGINT/SIGTERM: finish the chunk being committed, keep the job resumable, exit 130.
// A second one kills as usual (the job is resumable from its last chunk either way).
extern "C" void on_stop_signal(int sig) {
  g_stop.store(true);
  std::signal(sig, SIG_DFL);
}

struct Options {
  std::string data, memory, file, values;
  bool create = false, resume = false, abort = false, quiet = false, upsert = false, json = false;
  std::string index = "Flat", metric = "ip", search_params, progress = "auto";
  bool no_value_cache = false;
  int ef_construction = 0;
  std::size_t chunk_rows = 0;
  std::size_t max_line_bytes = 0;
  double progress_every = 5.0;
};

engram::cli::Registration reg("ingest", "Bulk-load vectors (.fvecs/.bvecs/.npy + --values, or .jsonl) into a memory"
#ifdef ENGRAM_LM_BUILD_PATH
                              ", or text documents encoded by a language model (--text FILE... --model M: runs engram-lm)"
#endif
                              ,
                              [](CLI::App& cmd) {
  auto o = std::make_shared<Options>();
  cmd.add_option("--data", o->data, "Database folder")->required();
  cmd.add_option("--memory", o->memory, "Memory to load into")->required();
  cmd.add_option("file", o->file,
                 "Keys (.fvecs, .bvecs, .npy 2-D float32, or float64/float16 converted) or whole records (.jsonl: "
                 "{\"key\":[...],\"value\":[...],\"payload\":...} per line)");
  cmd.add_option("--values", o->values, "Values, record i for key i (.fvecs, .bvecs, .npy)");
  cmd.add_flag("--create", o->create, "Create the memory (dimensions from the file) instead of appending");
  cmd.add_option("--index", o->index, "With --create: FAISS factory string (Flat, HNSW32, IVF1024,Flat, ...)")
      ->capture_default_str();
  cmd.add_option("--metric", o->metric, "With --create: ip or l2")->capture_default_str();
  cmd.add_option("--search-params", o->search_params, "With --create: e.g. efSearch=64 or nprobe=16");
  cmd.add_option("--ef-construction", o->ef_construction, "With --create, HNSW indexes: efConstruction (0: 200)")
      ->check(CLI::Range(0, 65536));
  cmd.add_flag("--no-value-cache", o->no_value_cache, "With --create: do not keep values in RAM");
  cmd.add_flag("--resume", o->resume, "Finish the interrupted ingest of the same file(s)");
  cmd.add_flag("--abort", o->abort, "Undo the interrupted ingest of this memory, load nothing");
  cmd.add_flag("--upsert", o->upsert,
               "Insert or replace by each .jsonl record's \"external_id\": running it twice leaves one copy "
               "(an interrupted run is finished by running it again)");
  cmd.add_option("--chunk-rows", o->chunk_rows, "Rows per atomic chunk (default: ~64 MiB of vectors)");
  cmd.add_option("--max-line-bytes", o->max_line_bytes,
                 "Longest .jsonl line (default: 1 MiB + 32 bytes per number of a record, up to 5 MiB)");
  cmd.add_flag("-q,--quiet", o->quiet, "No progress display");
  cmd.add_flag("--json", o->json, "Print the summary as one JSON object");
  cmd.add_option("--progress", o->progress, "auto, bar or lines")->capture_default_str()
      ->check(CLI::IsMember({"auto", "bar", "lines"}));
  cmd.add_option("--progress-every", o->progress_every, "Seconds between progress lines (lines mode)")
      ->capture_default_str();
  return [o]() -> int {
    using engram::ingest::usage_error;
    if (o->abort && (o->resume || o->create)) return usage_error("ingest", "--abort excludes --resume and --create");
    if (!o->abort && o->file.empty()) return usage_error("ingest", "the input FILE is required");
    if (o->upsert && (o->resume || o->abort)) return usage_error("ingest", "--upsert excludes --resume and --abort (run it again instead)");
    if (!o->create && (o->index != "Flat" || o->metric != "ip" || !o->search_params.empty() || o->no_value_cache ||
                       o->ef_construction != 0)) {
      return usage_error("ingest", "--index, --metric, --search-params, --ef-construction and --no-value-cache need --create");
    }
    engram::ingest::log_to_stderr();
    engram::DatabaseOptions dbo;
    dbo.create_if_missing = o->create;
    auto db = engram::Database::open(o->data, dbo);

    std::unique_ptr<engram::ingest::RecordSource> source;
    if (!o->abort) source = engram::ingest::RecordSource::open(o->file, o->values, o->max_line_bytes);
    std::shared_ptr<engram::Memory> memory;
    if (o->create && !db->has_memory(o->memory)) {
      engram::MemoryConfig cfg;
      cfg.key_dim = static_cast<int>(source->key_dim());
      cfg.value_dim = static_cast<int>(source->value_dim());
      cfg.index = o->index;
      cfg.metric = engram::parse_metric(o->metric);
      cfg.search_params = o->search_params;
      cfg.ef_construction = o->ef_construction;
      cfg.cache_values = !o->no_value_cache;
      memory = db->create_memory(o->memory, cfg);
    } else if (o->create && !o->resume && !o->upsert) {  // an upsert runs again as it ran first
      throw engram::Error(engram::ErrorCode::kAlreadyExists,
                          "memory '" + o->memory + "' already exists (drop --create to append to it)");
    } else if (!db->has_memory(o->memory)) {
      throw engram::Error(engram::ErrorCode::kNotFound,
                          "no memory named '" + o->memory + "' (pass --create --index SPEC to create it)");
    } else {
      memory = db->memory(o->memory);
    }

    engram::ingest::IngestOptions io;
    io.chunk_rows = o->chunk_rows;
    io.resume = o->resume;
    io.progress_every_s = o->progress_every;
    using Mode = engram::ingest::Progress::Mode;
    io.progress = o->quiet ? Mode::kQuiet : o->progress == "bar" ? Mode::kBar : o->progress == "lines" ? Mode::kLines : Mode::kAuto;
    io.stop = &g_stop;

    if (o->abort) {
      engram::ingest::abort_interrupted(*db, memory);
      std::printf("undid the interrupted ingest of memory '%s': it holds %llu slots\n", o->memory.c_str(),
                  static_cast<unsigned long long>(memory->count()));
      return 0;
    }

    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    const auto r = o->upsert ? engram::ingest::upsert_records(*memory, *source, io)
                             : engram::ingest::ingest(*db, memory, *source, io);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    using engram::ingest::Progress;
    // --json: the same facts as the text line, as one object (a script reads it without parsing
    // prose); the conversion of non-float32 input is named either way.
    nlohmann::json summary = {{"memory", o->memory}, {"file", o->file}, {"mode", o->upsert ? "upsert" : "ingest"},
                              {"records", r.records_done}, {"seconds", r.seconds}};
    const std::string conversion = source->conversion();
    if (!conversion.empty()) summary["converted"] = conversion;
    if (r.already_done) {
      summary["already_done"] = true;
      if (o->json) {
        std::printf("%s\n", summary.dump().c_str());
        return 0;
      }
      std::printf("nothing to resume: the ingest of %s into '%s' completed (%llu records)\n", o->file.c_str(),
                  o->memory.c_str(), static_cast<unsigned long long>(r.records_done));
      return 0;
    }
    if (r.interrupted) {
      std::fprintf(stderr,
                   "engram ingest: interrupted after %llu records (all of them durable); run the same "
                   "command %s to finish\n",
                   static_cast<unsigned long long>(r.records_done), o->upsert ? "again" : "with --resume");
      if (o->json) {
        summary["interrupted"] = true;
        std::printf("%s\n", summary.dump().c_str());
      }
      return 130;
    }
    const double rate = r.seconds > 0 ? (o->upsert ? r.records_done : r.slots) / r.seconds : 0;
    const auto stats = memory->stats();
    memory.reset();
    db.reset();  // closes: checkpoints the index, so the size below is the real one
    const std::uint64_t disk = engram::ingest::folder_bytes(o->data);
    summary["new_slots"] = r.slots;
    if (o->upsert) summary["replaced"] = r.records_done - r.slots;
    if (r.resumed_from) summary["resumed_after"] = r.resumed_from;
    summary["per_second"] = rate;
    summary["memory_slots"] = stats.slots;
    summary["disk_bytes"] = disk;
    if (o->json) {
      std::printf("%s\n", summary.dump().c_str());
      return 0;
    }
    const std::string converted = conversion.empty() ? "" : " (converted: " + conversion + ")";
    if (o->upsert) {
      std::printf("upserted %llu records into '%s' in %.1f s (%s records/s): %llu new slots, %llu replaced%s; it holds %llu slots; %s on disk\n",
                  static_cast<unsigned long long>(r.records_done), o->memory.c_str(), r.seconds,
                  Progress::human_count(rate).c_str(), static_cast<unsigned long long>(r.slots),
                  static_cast<unsigned long long>(r.records_done - r.slots), converted.c_str(),
                  static_cast<unsigned long long>(stats.slots), Progress::human_bytes(static_cast<double>(disk)).c_str());
      return 0;
    }
    std::printf("ingested %llu slots into '%s' in %.1f s (%s slots/s)%s%s; it holds %llu slots; %s on disk\n",
                static_cast<unsigned long long>(r.slots), o->memory.c_str(), r.seconds,
                Progress::human_count(rate).c_str(),
                r.resumed_from ? (", resumed after " + std::to_string(r.resumed_from) + " records").c_str() : "",
                converted.c_str(), static_cast<unsigned long long>(stats.slots),
                Progress::human_bytes(static_cast<double>(disk)).c_str());
    return 0;
  };
});

}  // namespace
