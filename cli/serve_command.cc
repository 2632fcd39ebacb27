// serve_command.cc — `serve`'s options and its run, for both programs that have the command.
#include "cli/serve_command.h"

#include <memory>

#include <CLI/CLI.hpp>
#include <engram/server.h>
#include <spdlog/spdlog.h>

#include "cli/serve_config.h"

namespace engram::cli {

const char* const kServeDescription = "Serve a database over HTTP (see docs/server.md)";

std::function<int()> setup_serve(CLI::App& cmd, ModelHook model_hook) {
  auto o = std::make_shared<engram::server::ServerOptions>();
  cmd.add_option("--data", o->data_dir, "Database folder (created if missing)")->capture_default_str();
  cmd.add_option("--host", o->host, "Address to listen on")->capture_default_str();
  cmd.add_option("--port", o->port, "Port to listen on (0: any free port)")->capture_default_str();
  cmd.add_option("--threads", o->threads, "Request threads (0: one per CPU)")->capture_default_str();
  cmd.add_option("--omp-threads", o->omp_threads,
                 "OpenMP threads each request thread may use for a batch (0: OpenMP's default)")
      ->capture_default_str();
  cmd.add_option("--token", o->token,
                 "Require \"Authorization: Bearer TOKEN\" on every request but /v1/health")
      ->envname("ENGRAM_TOKEN");
  cmd.add_option("--max-body-bytes", o->max_body_bytes, "Largest request body")->capture_default_str();
  cmd.add_option("--max-ingest-bytes", o->max_ingest_bytes, "Largest body for .../ingest")->capture_default_str();
  cmd.add_option("--max-batch", o->max_batch, "Most rows in one request")->capture_default_str();
  cmd.add_option("--max-line-bytes", o->max_line_bytes,
                 "Longest JSON Lines line of an ingest (0: 1 MiB + 32 bytes per number of a record)")
      ->capture_default_str();
  cmd.add_option("--max-connections", o->max_connections, "Most open connections")->capture_default_str();
  cmd.add_option("--max-inflight-body-bytes", o->max_inflight_body_bytes,
                 "Request bodies held at once, all connections together (503 beyond; 0: no budget)")
      ->capture_default_str();
  cmd.add_option("--idle-timeout-s", o->idle_timeout_s, "Close a keep-alive connection idle this long")
      ->capture_default_str();
  cmd.add_option("--header-timeout", o->header_timeout_s, "Seconds a request header may take to arrive")
      ->capture_default_str();
  cmd.add_option("--body-timeout", o->body_timeout_s, "Seconds a request body may take to arrive")
      ->capture_default_str();
  cmd.add_option("--shutdown-grace", o->shutdown_grace_s, "Seconds to let in-flight requests finish on stop")
      ->capture_default_str();
  cmd.add_option("--max-answer-bytes", o->max_answer_bytes,
                 "Most memory one answer may take to build (413 beyond, estimated before the work)")
      ->capture_default_str();
  cmd.add_option("--checkpoint-every-ops", o->database.checkpoint_every_ops,
                 "Checkpoint a memory's index once this many op-log records are past the last "
                 "checkpoint (0: off); bounds the replay after a crash")
      ->capture_default_str();
  cmd.add_option("--checkpoint-every-slots", o->database.checkpoint_every_slots,
                 "Checkpoint a memory's index once this many slots changed since the last one (0: off)")
      ->capture_default_str();
  cmd.add_option("--checkpoint-interval", o->database.checkpoint_interval_s,
                 "Seconds after which a memory with changes past its checkpoint is checkpointed (0: off)")
      ->capture_default_str();
  cmd.add_option("--min-free-disk-bytes", o->database.min_free_disk_bytes,
                 "Refuse writes (507) while the disk has less free space than this; start read-only below it")
      ->capture_default_str();
  cmd.add_flag_callback("--no-ui", [o] { o->ui = false; }, "Serve no console (the web pages at /ui, docs/console.md)");
  cmd.add_option("--model", o->model_dir,
                 "A model folder (engram-lm train --out): the console charts its loss.csv and, when it holds "
                 "the trained model, encodes text and generates with it (docs/console.md)");
  auto access_log = std::make_shared<bool>(false);
  cmd.add_flag("--access-log", *access_log,
               "Log a line per request (method, route, path, status, bytes, duration, client) "
               "in the --log-format");
  cmd.add_option("--cors-origin", o->cors_origin,
                 "Let browsers on this origin (\"*\": any) call the API: CORS headers on every answer, "
                 "preflight OPTIONS answered (default: off)");
  cmd.add_option("--snapshot-root", o->snapshot_root,
                 "Folder that snapshots made over HTTP go into and are listed from; a request's dir must lie "
                 "inside it (default: DATA/snapshots)");
  add_config_options(cmd);
  return [o, access_log, &cmd, model_hook] {
    engram::cli::apply_config_file(cmd);
    if (engram::cli::print_config_if_asked(cmd)) return 0;
    if (*access_log) o->access_log = cmd.get_parent()->get_option("--log-format")->as<std::string>();
    if (!o->model_dir.empty() && model_hook)
      if (std::optional<int> rc = model_hook(*o)) return *rc;
    engram::server::Server server(*o);
    server.run_until_signal();
    return 0;  // ~Server closes the database, checkpointing every index
  };
}

}  // namespace engram::cli
