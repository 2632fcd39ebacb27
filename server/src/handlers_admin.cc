// handlers_admin.cc — health, metrics and snapshots.
#include <filesystem>

#include <engram/version.h>

#include "body_decoder.h"
#include "errors.h"
#include "json_codec.h"
#include "service.h"
#include "snapshot_root.h"

namespace engram::server {


void add_admin_routes(Router& router, Service& service) {
  router.add("GET", "/v1/health", [&service](const Request&, const Params&) {
    // A full disk leaves the server up and reading: health says so instead of failing, so a
    // load balancer can keep reads flowing while writes go elsewhere.
    const std::string read_only = service.database().read_only_reason();
    json out = {{"status", read_only.empty() ? "ok" : "read_only"},
                {"writable", read_only.empty()},
                {"memories", service.database().list_memories().size()},
                {"version", engram::version()},
                {"commit", engram::git_commit()}};
    if (!read_only.empty()) out["read_only_reason"] = read_only;
    return json_response(out);
  });

  router.add("GET", "/v1/version", [](const Request&, const Params&) {
    return json_response(
        {{"version", engram::version()}, {"commit", engram::git_commit()}, {"simd", engram::simd_level()}});
  });

  // /metrics is where Prometheus looks by default; /v1/metrics stays for existing scrapers.
  auto metrics = [&service](const Request&, const Params&) {
    Response res;
    res.content_type = "text/plain; version=0.0.4";
    res.body = service.render_metrics();
    return res;
  };
  router.add("GET", "/metrics", metrics);
  router.add("GET", "/v1/metrics", metrics);

  // POST /v1/snapshot copies every memory; POST /v1/memories/{name}/snapshot that memory alone.
  // The copy goes inside the snapshot root (snapshot_root.h): `dir` names a folder in it (a
  // relative name, or an absolute path already inside it); without one, a new name from the time.
  // The answer gives the absolute path.
  auto snapshot = [&service](const Request& req, const Params& p) {
    std::vector<std::string> memories;
    if (auto it = p.find("name"); it != p.end()) {
      service.memory(it->second);  // 404 if unknown
      memories.push_back(it->second);
    }
    const Fields fields = req.body.empty() ? Fields{} : service.decode(req, {Field::scalar("dir")});
    const std::string dir = resolve_snapshot_dir(service.snapshot_root(), get_string(fields.scalars, "dir").value_or(""));
    std::filesystem::create_directories(std::filesystem::path(dir).parent_path());
    service.database().snapshot(dir, memories);
    return json_response({{"dir", dir}, {"name", std::filesystem::relative(dir, service.snapshot_root()).string()}}, 201);
  };
  router.add("POST", "/v1/memories/{name}/snapshot", snapshot);
  router.add("POST", "/v1/snapshot", snapshot);

  // The whole snapshots in the root, by name; `engram restore DIR --data NEW` makes one a database.
  router.add("GET", "/v1/snapshots", [&service](const Request&, const Params&) {
    json list = json::array();
    for (const SnapshotEntry& e : list_snapshots(service.snapshot_root())) {
      list.push_back({{"name", e.name}, {"dir", e.dir}, {"bytes", e.bytes}, {"modified", e.modified_unix_s}});
    }
    return json_response({{"root", service.snapshot_root()}, {"snapshots", list}});
  });
}

}  // namespace engram::server
