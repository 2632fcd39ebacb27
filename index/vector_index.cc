#include "index/vector_index.h"

#include "index/faiss_index.h"
#include "index/hnswlib_index.h"

namespace engram::index {

std::unique_ptr<VectorIndex> VectorIndex::create(const IndexSpec& spec) {
  if (is_hnswlib_factory(spec.factory)) return HnswlibIndex::create(spec);
  return FaissIndex::create(spec);
}

std::unique_ptr<VectorIndex> VectorIndex::deserialize(const IndexSpec& spec, const std::uint8_t* bytes,
                                                      std::size_t size) {
  if (is_hnswlib_factory(spec.factory)) return HnswlibIndex::deserialize(spec, bytes, size);
  return FaissIndex::deserialize(spec, bytes, size);
}

}  // namespace engram::index
