// engram/server.h — the Engram memory server: an HTTP/1.1 JSON API over one database folder.
//
//   engram::server::ServerOptions opt;  opt.data_dir = "./engram-data";  opt.port = 0;
//   engram::server::Server server(opt);   // opens the database, binds, starts the threads
//   std::cout << server.port();           // the port actually bound (0 picks a free one)
//   server.stop();                        // graceful; the destructor does it too
//
// The `engram serve` command is this class plus command-line flags and signal handling.
// The API is described in docs/openapi.yaml and docs/server.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "engram/config.h"

namespace engram {
class Database;
}

namespace engram::server {

class ModelService;  // engram/model_service.h

struct ServerOptions {
  std::string data_dir = "./engram-data";
  // How the database is opened: background checkpoints (checkpoint_every_ops/_slots,
  // checkpoint_interval_s) and the free-space margin below which writes are refused.
  DatabaseOptions database;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8420;  // 0: an ephemeral port (see Server::port())
  int threads = 0;            // threads serving requests; 0: the number of CPUs
  // OpenMP threads each request thread may use (FAISS parallelises a batch of queries; every
  // request thread that does so starts its own team). 0: OpenMP's default (OMP_NUM_THREADS,
  // else one per CPU).
  int omp_threads = 0;
  std::string token;          // non-empty: every request but /v1/health needs "Bearer <token>"

  // Limits. A request over a limit is refused whole and changes nothing.
  std::size_t max_body_bytes = 64u << 20;     // request bodies, except ingest
  // The body of POST .../ingest. It streams through bounded memory, so this only caps one load.
  std::size_t max_ingest_bytes = std::size_t{64} << 30;
  std::size_t max_batch = 10000;              // rows in one request (not ingest: it streams)
  std::size_t max_connections = 1024;         // further connections get 503 and are closed
  // Request bodies the server holds at once, all connections together (the per-request limit
  // alone would let max_connections × max_body_bytes pile up). A body is charged from its
  // Content-Length when its header arrives (a chunked body: as it grows) until its request is
  // answered; a request that would pass the budget is answered 503 with Retry-After before its
  // body is read. Ingest bodies stream through bounded buffers and are not charged. A body
  // larger than the whole budget is 413, as over max_body_bytes. 0: no budget.
  std::size_t max_inflight_body_bytes = 256u << 20;
  // The most memory one answer may take to build, estimated before the work is done from its
  // rows × k × widths (a JSON number costs ~40 bytes as a DOM node plus its text, a base64 one
  // ~12): a 100-byte request must not make a multi-gigabyte answer. Beyond it: 413.
  std::size_t max_answer_bytes = 512u << 20;
  double idle_timeout_s = 60;    // a keep-alive connection with no request for this long is closed
  double header_timeout_s = 10;  // the whole request header must arrive within this time
  double body_timeout_s = 120;   // the whole body must arrive within this time after the header
                                 // (ingest: each piece of it, since an upload may be long)
  // Rows per atomically committed chunk of an ingest; 0: about 64 MiB of keys and values.
  std::size_t ingest_chunk_rows = 0;
  // The longest JSON Lines line of an ingest (413 beyond, naming the line): a line is held whole
  // while it is parsed. 0: 1 MiB plus 32 bytes per key and value number of the memory
  // (ingest::default_max_line_bytes).
  std::size_t max_line_bytes = 0;
  double shutdown_grace_s = 30;  // stop() waits this long for in-flight requests, then cuts

  // The console (docs/console.md): web pages at /ui, compiled into the server. They carry no
  // data, so they are served without the token; the page asks for it and sends it to the API.
  bool ui = true;
  // A model folder (engram-lm train --out): GET /v1/model/loss.csv serves its loss.csv, which
  // the console charts. Empty: no such route.
  std::string model_dir;
  // The model loaded from model_dir, if any (engram-lm serve loads it; the server links no
  // LibTorch): GET /v1/model, POST /v1/model/encode and /v1/model/generate run it. Null: those
  // routes answer 404.
  std::shared_ptr<ModelService> model;
  // A line per answered request (method, route, path, status, bytes, duration, client) on the
  // "engram-access" spdlog logger: "" none, "text" logfmt, "json" JSON object members.
  std::string access_log;
  // Non-empty: browsers on this origin ("https://console.example"; "*": any) may call the API.
  // Every answer carries Access-Control-Allow-Origin, and preflight OPTIONS requests are
  // answered (without the token: browsers send none with them). Empty: no CORS headers, and
  // OPTIONS is 405 like any method a route lacks.
  std::string cors_origin;
  // The folder HTTP snapshots are written into (POST /v1/snapshot's `dir` resolves inside it;
  // anything outside is refused 403) and listed from (GET /v1/snapshots). Empty: <data>/snapshots.
  std::string snapshot_root;
};

class Server {
 public:
  // Opens (creating if needed) the database in options.data_dir, binds host:port and starts
  // serving on background threads. Throws engram::Error (kBusy if another process has the
  // folder, kUnavailable if the address cannot be bound).
  explicit Server(const ServerOptions& options);
  // stop(), then closes the database (which checkpoints every index).
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;
  const ServerOptions& options() const;
  Database& database();

  // Graceful stop: stops accepting, cuts uploads still streaming (POST .../ingest: the load is
  // undone and the client answered 503 at once), answers new requests on open connections with
  // 503, lets in-flight requests finish (up to shutdown_grace_s), closes connections and joins
  // the threads. The database stays open until the destructor. Idempotent, thread-safe.
  void stop();

  // Blocks until SIGINT or SIGTERM arrives (or stop() is called), then stops gracefully.
  void run_until_signal();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace engram::server
