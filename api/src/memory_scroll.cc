// scroll(): a walk through a memory's slots in id order, a page at a time.
//
// The cursor is the id the next page starts at. Slot ids only grow and an upsert keeps its
// slot's id, so a walk sees every slot that exists throughout it exactly once, however the
// memory changes between pages; the cursor needs no state on the server.
#include <algorithm>
#include <cctype>

#include "api/src/memory_core.h"
#include "engram/error.h"

namespace engram::detail {
namespace {

// Slots a filtered page looks at before it returns what it found: a page of a filter that
// accepts few slots stays quick, and the walk goes on from where it stopped.
constexpr std::size_t kScanPerPage = 65536;
// Payloads are read and tested this many slots at a time.
constexpr std::size_t kChunk = 1024;

SlotId parse_cursor(const std::string& cursor) {
  if (cursor.empty()) return 0;
  const bool digits = cursor.size() <= 19 &&
                      std::all_of(cursor.begin(), cursor.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (!digits) throw Error(ErrorCode::kInvalidArgument, "cursor \"" + cursor + "\" is not one a scroll returned");
  return std::stoull(cursor);
}

}  // namespace

ScrollPage MemoryCore::scroll(const ScrollOptions& o) const {
  if (o.limit < 1 || o.limit > kMaxScrollLimit) {
    throw Error(ErrorCode::kInvalidArgument,
                "limit must be in 1.." + std::to_string(kMaxScrollLimit) + ", got " + std::to_string(o.limit));
  }
  const SlotId first = parse_cursor(o.cursor);
  std::shared_lock<RwLock> lock(index_mu_);
  check_open();
  std::vector<SlotId> page;
  SlotId next = first;
  bool more = false;
  std::vector<SlotId> chunk;
  std::size_t scanned = 0;
  // Tests a chunk of scanned ids against the filter, keeping at most what the page still takes.
  auto take = [&] {
    const std::vector<std::string> payloads =
        o.filter.empty() ? std::vector<std::string>(chunk.size()) : store_->multi_get_payloads(entry_.id, chunk);
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      if (page.size() == o.limit) {
        more = true;
        next = chunk[i];
        break;
      }
      next = chunk[i] + 1;
      if (o.filter.empty() || o.filter.matches(chunk[i], payloads[i])) page.push_back(chunk[i]);
    }
    chunk.clear();
  };
  store_->scan_ids_from(entry_.id, first, [&](std::uint64_t id) {
    if (page.size() == o.limit || (!o.filter.empty() && scanned == kScanPerPage)) {
      more = true;
      return false;
    }
    chunk.push_back(id);
    ++scanned;
    if (chunk.size() == (o.filter.empty() ? o.limit : kChunk)) take();
    return !more;
  });
  if (!chunk.empty()) take();
  ScrollPage out;
  out.slots = fetch_slots_locked(page, o.with_keys, o.with_values, /*skip_missing=*/true);
  if (more) out.next_cursor = std::to_string(next);
  return out;
}

}  // namespace engram::detail
