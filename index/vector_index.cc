#include "index/vector_index.h"

#include <cstring>

#include "index/faiss_index.h"
#include "index/hnswlib_index.h"
#include "index/index_grammar.h"

namespace engram::index {

IndexSpec index_spec_of(const MemoryConfig& c) {
  IndexSpec s;
  s.dim = c.key_dim;
  s.metric = c.metric;
  s.factory = c.index;
  s.search_params = c.search_params;
  s.device = c.device;
  s.ef_construction = c.ef_construction;
  return s;
}

std::unique_ptr<VectorIndex> VectorIndex::create(const IndexSpec& spec) {
  check_index_spec(spec);  // before FAISS sees it: some strings it accepts crash the process
  if (is_hnswlib_factory(spec.factory)) return HnswlibIndex::create(spec);
  return FaissIndex::create(spec);
}

std::unique_ptr<VectorIndex> VectorIndex::deserialize(const IndexSpec& spec, const std::uint8_t* bytes,
                                                      std::size_t size) {
  check_index_spec(spec);
  if (is_hnswlib_factory(spec.factory)) return HnswlibIndex::deserialize(spec, bytes, size);
  return FaissIndex::deserialize(spec, bytes, size);
}

namespace {
struct VectorSink final : ByteSink {
  void write(const void* data, std::size_t n) override {
    const auto* p = static_cast<const std::uint8_t*>(data);
    bytes.insert(bytes.end(), p, p + n);
  }
  std::uint64_t position() const override { return bytes.size(); }
  void write_at(std::uint64_t position, const void* data, std::size_t n) override {
    std::memcpy(bytes.data() + position, data, n);
  }
  std::vector<std::uint8_t> bytes;
};
}  // namespace

std::vector<std::uint8_t> VectorIndex::serialize() const {
  VectorSink sink;
  serialize_to(sink);
  return std::move(sink.bytes);
}

}  // namespace engram::index
