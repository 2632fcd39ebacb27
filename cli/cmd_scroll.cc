// cmd_scroll.cc — `engram scroll`: one page of a memory's slots in id order, as JSON.
#include <cstdio>
#include <memory>

#include <engram/engram.h>
#include <nlohmann/json.hpp>

#include "command.h"
#include "ingest/cli_common.h"

namespace {

struct Options {
  std::string data, memory, cursor, filter;
  std::size_t limit = 100;
  bool with_keys = false, with_values = false;
};

engram::cli::Registration reg("scroll", "Print a page of a memory's slots in id order as JSON (--cursor for the next page)",
                              [](CLI::App& cmd) {
  auto o = std::make_shared<Options>();
  cmd.add_option("--data", o->data, "Database folder")->required();
  cmd.add_option("--memory", o->memory, "Memory to page through")->required();
  cmd.add_option("--limit", o->limit, "Slots per page (1 to 10000)")->capture_default_str();
  cmd.add_option("--cursor", o->cursor, "Where the page starts: the next_cursor of the page before (none: the first page)");
  cmd.add_option("--filter", o->filter, "Only the slots this filter accepts (JSON, as in search --filter)");
  cmd.add_flag("--with-keys", o->with_keys, "Also print each slot's key");
  cmd.add_flag("--with-values", o->with_values, "Also print each slot's value");
  return [o]() -> int {
    engram::ingest::log_to_stderr();
    auto db = engram::ingest::open_existing(o->data, engram::ingest::Access::kReadOnly);
    engram::ScrollOptions so;
    so.limit = o->limit;
    so.cursor = o->cursor;
    if (!o->filter.empty()) so.filter = engram::Filter::parse(o->filter);
    so.with_keys = o->with_keys;
    so.with_values = o->with_values;
    const engram::ScrollPage page = db->memory(o->memory)->scroll(so);
    // The same shape as GET /v1/memories/{name}/slots answers.
    nlohmann::json slots = nlohmann::json::array();
    for (const engram::Slot& s : page.slots) {
      nlohmann::json j = {{"id", s.id}, {"payload", s.payload}};
      if (s.external_id)
        j["external_id"] = engram::ingest::external_id_json(*s.external_id);
      if (o->with_keys) j["key"] = s.key;
      if (o->with_values) j["value"] = s.value;
      slots.push_back(std::move(j));
    }
    const nlohmann::json out = {{"slots", std::move(slots)},
                                {"next_cursor", page.next_cursor.empty() ? nlohmann::json(nullptr) : nlohmann::json(page.next_cursor)}};
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  };
});

}  // namespace
