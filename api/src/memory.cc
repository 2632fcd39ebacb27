// engram::Memory forwards to MemoryCore, which holds the state and the invariants.
#include "engram/memory.h"

#include "api/src/memory_core.h"
#include "api/src/snapshot.h"
#include "engram/error.h"

namespace engram {

Memory::Memory(std::shared_ptr<detail::MemoryCore> core, std::weak_ptr<detail::DatabaseCore> database)
    : core_(std::move(core)), database_(std::move(database)) {}
Memory::~Memory() = default;

const std::string& Memory::name() const { return core_->name(); }
MemoryConfig Memory::config() const { return core_->config(); }

std::vector<SlotId> Memory::insert(MatrixView keys, MatrixView values,
                                   const std::vector<std::string>& payloads,
                                   const WriteOptions& options) {
  return core_->insert(keys, values, payloads, options);
}

std::vector<SlotId> Memory::insert(const std::vector<ExternalId>& ids, MatrixView keys, MatrixView values,
                                   const std::vector<std::string>& payloads, const WriteOptions& options) {
  return core_->insert_keyed(ids, keys, values, payloads, options, /*replace=*/false);
}

std::vector<SlotId> Memory::upsert(const std::vector<ExternalId>& ids, MatrixView keys, MatrixView values,
                                   const std::vector<std::string>& payloads, const WriteOptions& options) {
  return core_->insert_keyed(ids, keys, values, payloads, options, /*replace=*/true);
}

std::vector<SlotId> Memory::resolve(const std::vector<ExternalId>& ids) { return core_->resolve(ids); }

ScrollPage Memory::scroll(const ScrollOptions& options) { return core_->scroll(options); }

void Memory::create_payload_index(const std::string& field) { core_->create_payload_index(field); }
void Memory::drop_payload_index(const std::string& field) { core_->drop_payload_index(field); }
std::vector<std::string> Memory::payload_indexes() { return core_->payload_indexes(); }

ReadResult Memory::read(MatrixView queries, const SearchOptions& options) {
  return core_->read(queries, options);
}

RetrieveResult Memory::retrieve(MatrixView queries, const SearchOptions& options) {
  return core_->retrieve(queries, options);
}

WriteResult Memory::write(MatrixView queries, MatrixView values, const SearchOptions& search,
                          const WriteOptions& options) {
  return core_->write(queries, values, search, options);
}

SearchResult Memory::search(MatrixView queries, const SearchOptions& options) {
  return core_->search(queries, options);
}

std::vector<Slot> Memory::get(const std::vector<SlotId>& ids) { return core_->get(ids); }

void Memory::update(const std::vector<SlotPatch>& patches, const WriteOptions& options) {
  core_->update(patches, options);
}

void Memory::erase(const std::vector<SlotId>& ids, const WriteOptions& options) {
  core_->erase(ids, options);
}

std::size_t Memory::erase_matching(const Filter& filter, const WriteOptions& options) {
  return core_->erase_matching(filter, options);
}

MemoryStats Memory::stats() { return core_->stats(); }
void Memory::train() { core_->train(); }
void Memory::compact() { core_->compact(); }
void Memory::checkpoint() { core_->checkpoint(); }
std::vector<SlotId> Memory::list_ids() { return core_->list_ids(); }

void Memory::snapshot(const std::string& dir) {
  auto database = database_.lock();
  if (!database) {
    throw Error(ErrorCode::kFailedPrecondition, "memory '" + name() + "': its database is closed");
  }
  detail::snapshot_database(*database, dir, {name()});
}

}  // namespace engram
