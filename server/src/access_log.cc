#include "access_log.h"

#include <cstdio>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace engram::server {

namespace {
// A logfmt value: bare when it is one plain word, else quoted with " and \ escaped.
std::string logfmt_value(const std::string& v) {
  bool plain = !v.empty();
  for (char c : v) plain = plain && c > ' ' && c != '"' && c != '=' && c != '\\';
  if (plain) return v;
  return nlohmann::json(v).dump();  // a JSON string is a valid logfmt quoted value
}
}  // namespace

std::string access_fields(const AccessRecord& r, const std::string& format) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.6f", r.seconds);
  if (format == "json") {
    const nlohmann::json j = {{"method", r.method}, {"route", r.route},   {"path", r.path}, {"status", r.status},
                              {"bytes", r.bytes},   {"client", r.client}};
    std::string members = j.dump();  // nlohmann orders keys: fine for machines
    members = members.substr(1, members.size() - 2);
    return members + ",\"duration_s\":" + seconds;
  }
  return "method=" + logfmt_value(r.method) + " route=" + logfmt_value(r.route) + " path=" + logfmt_value(r.path) +
         " status=" + std::to_string(r.status) + " bytes=" + std::to_string(r.bytes) + " duration_s=" + seconds +
         " client=" + logfmt_value(r.client);
}

void log_access(const AccessRecord& r, const std::string& format) {
  auto logger = spdlog::get("engram-access");
  if (!logger) {
    try {
      logger = spdlog::stderr_color_mt("engram-access");
    } catch (const spdlog::spdlog_ex&) {  // another thread created it first
      logger = spdlog::get("engram-access");
    }
  }
  if (logger) logger->info(access_fields(r, format));
}

}  // namespace engram::server
