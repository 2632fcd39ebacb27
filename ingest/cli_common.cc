#include "ingest/cli_common.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "engram/error.h"
#include "ingest/vector_file.h"

namespace engram::ingest {

void log_to_stderr() {
  if (!spdlog::get("engram-stderr")) spdlog::set_default_logger(spdlog::stderr_color_mt("engram-stderr"));
}

std::unique_ptr<Database> open_existing(const std::string& dir, Access access) {
  DatabaseOptions o;
  o.create_if_missing = false;
  o.read_only = access == Access::kReadOnly;
  return Database::open(dir, o);
}

std::vector<float> read_queries(const std::string& path, std::size_t dim) {
  auto r = VectorReader::open(path);
  if (r->dim() != dim) {
    throw Error(ErrorCode::kInvalidArgument, path + ": vectors have dimension " + std::to_string(r->dim()) +
                                                 ", the memory's keys have " + std::to_string(dim));
  }
  std::vector<float> out;
  out.reserve(r->count() * dim);
  r->read(r->count(), &out);
  return out;
}

std::uint64_t folder_bytes(const std::string& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

nlohmann::json external_id_json(const ExternalId& id) {
  return id.is_number() ? nlohmann::json(id.number()) : nlohmann::json(id.text());
}

int usage_error(const std::string& cmd, const std::string& msg) {
  std::fprintf(stderr, "engram %s: %s\nRun with --help for more information.\n", cmd.c_str(), msg.c_str());
  return 2;
}

}  // namespace engram::ingest
