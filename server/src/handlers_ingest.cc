// handlers_ingest.cc — streaming bulk load through the ingest pipeline (ingest/pipeline.h).
//
// POST /v1/memories/{name}/ingest reads its body while it arrives (a streaming route: see
// body_pipe.h) as JSON Lines (application/x-ndjson, application/jsonl, application/json) or
// binary records (application/octet-stream); the formats are in ingest/stream_source.h. The
// records go through the same pipeline as `engram ingest FILE`: parsed, written as SST files and
// committed atomically chunk by chunk, indexed in large batches. A bad record anywhere, a body
// that is cut off, or a server shutdown undoes every chunk the request had committed, so a
// refused request leaves the memory as it was. If the server dies mid-load, the chunks it
// committed stay with a job record: resend the same body with ?resume=true to finish it (the
// records already loaded are read and skipped), or DELETE …/ingest to undo them.
#include <engram/bulk_load.h>
#include <engram/memory.h>

#include "errors.h"
#include "ingest/jsonl_reader.h"
#include "ingest/pipeline.h"
#include "ingest/stream_source.h"
#include "json_codec.h"
#include "service.h"

namespace engram::server {

namespace {

Response ingest_body(Service& service, const Request& req, const std::string& name) {
  auto mem = service.memory(name);
  auto claim = service.claim_ingest(name);
  const MemoryConfig config = mem->config();
  const auto format = media_type(req.content_type) == "application/octet-stream"
                          ? ingest::StreamFormat::kBinary
                          : ingest::StreamFormat::kJsonLines;
  auto source = ingest::open_stream(*req.body_stream, format, config.key_dim, config.value_dim,
                                    req.content_length, "request body", service.options().max_line_bytes);
  ingest::IngestOptions options;
  options.chunk_rows = service.options().ingest_chunk_rows;
  options.resume = Service::query_flag(req, "resume").value_or(false);
  if (!options.resume) {
    // Say what to do in HTTP terms (the pipeline's own message speaks of command-line flags).
    BulkLoader probe(service.database(), mem, /*resume=*/true);
    if (probe.pending_job()) {
      const json state = json::parse(*probe.pending_job(), nullptr, false);
      const auto done = state.is_object() ? state.value("records", std::uint64_t{0}) : 0;
      throw HttpError(409, error_code_name(ErrorCode::kFailedPrecondition),
                      "memory '" + name + "' holds an interrupted ingest (" + std::to_string(done) +
                          " records done): send the same body again with ?resume=true to finish it, "
                          "or DELETE /v1/memories/" + name + "/ingest to undo it");
    }
  }
  options.progress = ingest::Progress::Mode::kQuiet;
  ingest::IngestReport report;
  try {
    report = ingest::ingest(service.database(), mem, *source, options);
  } catch (const ingest::MalformedRecord& e) {
    throw_bad_request(e.what());  // not JSON, wrong types, truncated binary record: 400
  } catch (const ingest::LineTooLong& e) {
    throw_too_large(e.what());  // a record larger than the server holds at once: 413
  }
  json out = {{"inserted", report.slots},
              {"records", report.records_done},
              {"resumed_from", report.resumed_from},
              {"seconds", report.seconds}};
  if (report.already_done) out["already_done"] = true;
  return json_response(out);
}

}  // namespace

void add_ingest_routes(Router& router, Service& service) {
  router.add_streaming("POST", "/v1/memories/{name}/ingest", [&service](const Request& req, const Params& p) {
    return ingest_body(service, req, p.at("name"));
  });
  // Undoes an interrupted ingest (the server died while loading): every chunk it committed.
  router.add("DELETE", "/v1/memories/{name}/ingest", [&service](const Request&, const Params& p) {
    auto mem = service.memory(p.at("name"));
    auto claim = service.claim_ingest(p.at("name"));
    ingest::abort_interrupted(service.database(), mem);
    return json_response(json{{"aborted", true}});
  });
}

}  // namespace engram::server
