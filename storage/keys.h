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

// Metadata keys (column family "meta").
std::string catalog_key(const std::string& memory_name);  // "m/" + name
std::string state_key(MemoryId memory);                   // "s/" + id (BE)
extern const char kNextMemoryIdKey[];                     // "next_memory_id"
extern const char kCatalogPrefix[];                       // "m/"

void put_u32_be(std::string* out, std::uint32_t v);
void put_u64_be(std::string* out, std::uint64_t v);
std::uint32_t get_u32_be(const char* p);
std::uint64_t get_u64_be(const char* p);

}  // namespace engram::storage
