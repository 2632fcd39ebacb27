#include "storage/keys.h"

namespace engram::storage {

const char kNextMemoryIdKey[] = "next_memory_id";
const char kCatalogPrefix[] = "m/";

void put_u32_be(std::string* out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_u64_be(std::string* out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint32_t get_u32_be(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::uint64_t get_u64_be(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string record_key(MemoryId memory, std::uint64_t n) {
  std::string k;
  k.reserve(12);
  put_u32_be(&k, memory);
  put_u64_be(&k, n);
  return k;
}

std::string range_begin(MemoryId memory) { return record_key(memory, 0); }

std::string range_end(MemoryId memory) {
  std::string k;
  put_u32_be(&k, memory + 1);  // memory ids never reach 2^32 - 1 (see SlotStore::create_memory)
  return k;
}

std::uint64_t record_number(const rocksdb::Slice& key) { return get_u64_be(key.data() + 4); }

std::string catalog_key(const std::string& memory_name) { return kCatalogPrefix + memory_name; }

std::string external_id_key(MemoryId memory, const std::string& external) {
  std::string k;
  k.reserve(5 + external.size());
  put_u32_be(&k, memory);
  k.push_back('f');
  return k + external;
}

std::string slot_external_id_key(MemoryId memory, std::uint64_t slot) {
  std::string k;
  k.reserve(13);
  put_u32_be(&k, memory);
  k.push_back('r');
  put_u64_be(&k, slot);
  return k;
}

std::string index_entry_prefix(MemoryId memory, const std::string& field) {
  std::string k;
  put_u32_be(&k, memory);
  k.push_back(static_cast<char>((field.size() >> 8) & 0xff));  // fields are at most 65535 bytes
  k.push_back(static_cast<char>(field.size() & 0xff));
  return k + field;
}

std::string index_entry_key(MemoryId memory, const std::string& field, const std::string& value,
                            std::uint64_t slot) {
  std::string k = index_entry_prefix(memory, field) + value;
  put_u64_be(&k, slot);
  return k;
}

std::string payload_index_meta_prefix(MemoryId memory) {
  std::string k = "p/";
  put_u32_be(&k, memory);
  return k;
}

std::string state_key(MemoryId memory) {
  std::string k = "s/";
  put_u32_be(&k, memory);
  return k;
}

}  // namespace engram::storage
