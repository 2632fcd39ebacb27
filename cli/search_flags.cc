#include "cli/search_flags.h"

namespace engram::cli {

void SearchFlags::add_to(CLI::App& cmd) {
  cmd.add_option("--ef", ef, "HNSW efSearch for this run (0: the memory's own)")->capture_default_str()
      ->check(CLI::Range(0, kMaxEf));
  cmd.add_option("--nprobe", nprobe, "IVF lists scanned per query for this run (0: the memory's own)")
      ->capture_default_str()->check(CLI::Range(0, kMaxNprobe));
  cmd.add_option("--filter", filter,
                 "Only slots this filter accepts, e.g. '{\"must\":[{\"key\":\"source\",\"match\":{\"value\":\"wiki\"}}]}'"
                 " (docs/server.md#filters)");
}

SearchOptions SearchFlags::options(int k) const {
  return {.k = k, .ef = ef, .nprobe = nprobe, .filter = filter.empty() ? Filter() : Filter::parse(filter)};
}

}  // namespace engram::cli
