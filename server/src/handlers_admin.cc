// handlers_admin.cc — health, metrics and snapshots.
#include <chrono>
#include <ctime>
#include <filesystem>

#include <engram/version.h>

#include "body_decoder.h"
#include "errors.h"
#include "json_codec.h"
#include "service.h"

namespace engram::server {

namespace {
// Snapshots default to <data>/snapshots/<UTC time>-<n>: next to the data they copy, named so that
// they sort by time and two in the same second do not collide.
std::string default_snapshot_dir(const std::string& data_dir) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::filesystem::path base = std::filesystem::path(data_dir) / "snapshots";
  for (int n = 0;; ++n) {
    auto dir = base / (std::string(stamp) + (n ? "-" + std::to_string(n) : ""));
    if (!std::filesystem::exists(dir)) return dir.string();
  }
}
}  // namespace

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
  auto snapshot = [&service](const Request& req, const Params& p) {
    std::vector<std::string> memories;
    if (auto it = p.find("name"); it != p.end()) {
      service.memory(it->second);  // 404 if unknown
      memories.push_back(it->second);
    }
    const Fields fields = req.body.empty() ? Fields{} : service.decode(req, {Field::scalar("dir")});
    std::string dir = get_string(fields.scalars, "dir").value_or("");
    if (dir.empty()) {
      dir = default_snapshot_dir(service.database().path());
      std::filesystem::create_directories(std::filesystem::path(dir).parent_path());
    }
    service.database().snapshot(dir, memories);
    return json_response({{"dir", dir}}, 201);
  };
  router.add("POST", "/v1/memories/{name}/snapshot", snapshot);
  router.add("POST", "/v1/snapshot", snapshot);
}

}  // namespace engram::server
