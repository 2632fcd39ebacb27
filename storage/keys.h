// storage/keys.h — how Engram's records are named inside RocksDB.
//
// Slot records are keyed by (memory id, slot id), both big-endian, so that a memory's slots are
// one contiguous key range (drop = DeleteRange) and iterate in id order. The op log of a memory
// is keyed by (memory id, op sequence number) the same way. See docs/durability.md.
#pragma once

#include <cstdint>
#include <string>

#include <rocksdb/slice.h>

namespace engram::storage {

using MemoryId = std::uint32_t;

// 12 bytes: memory id (4, BE) + slot id or op seq (8, BE).
std::string record_key(MemoryId memory, std::uint64_t n);
// The first key of `memory`'s range and the first key past it.
std::string range_begin(MemoryId memory);
std::string range_end(MemoryId memory);
// Reads the second half of a record_key. REQUIRES: key.size() == 12.
std::uint64_t record_number(const rocksdb::Slice& key);

// Family "external_ids": a client's id -> slot id, and slot id -> the client's id. The client's id
// is opaque bytes here (api/src/external_id.cc encodes it).
std::string external_id_key(MemoryId memory, const std::string& external);  // id(4) 'f' external
std::string slot_external_id_key(MemoryId memory, std::uint64_t slot);      // id(4) 'r' slot(8)

// Family "payload_index": one empty record per (memory, field, value, slot), so that a prefix
// names the slots whose field holds a value. `value` must be self-delimiting (a fixed width or
// a length prefix): api/src/payload_index.cc encodes it.
std::string index_entry_prefix(MemoryId memory, const std::string& field);  // id(4) len(2) field
std::string index_entry_key(MemoryId memory, const std::string& field, const std::string& value,
                            std::uint64_t slot);                             // prefix value slot(8)

// Metadata keys (column family "meta").
// "p/" + id (BE) + field: a declared payload index of the memory (value: "ready" once built).
std::string payload_index_meta_prefix(MemoryId memory);
std::string catalog_key(const std::string& memory_name);  // "m/" + name
std::string state_key(MemoryId memory);                   // "s/" + id (BE)
extern const char kNextMemoryIdKey[];                     // "next_memory_id"
extern const char kCatalogPrefix[];                       // "m/"

void put_u32_be(std::string* out, std::uint32_t v);
void put_u64_be(std::string* out, std::uint64_t v);
std::uint32_t get_u32_be(const char* p);
std::uint64_t get_u64_be(const char* p);

}  // namespace engram::storage
