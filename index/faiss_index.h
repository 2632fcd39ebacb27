// index/faiss_index.h — the FAISS backend: any FAISS factory string.
#pragma once

#include "index/vector_index.h"

namespace faiss {
struct IDSelector;
}

namespace engram::index {

class FaissIndex final : public VectorIndex {
 public:
  static std::unique_ptr<FaissIndex> create(const IndexSpec& spec);
  static std::unique_ptr<FaissIndex> deserialize(const IndexSpec& spec, const std::uint8_t* bytes, std::size_t size);
  ~FaissIndex() override;

  bool is_trained() const override;
  std::size_t min_train_points() const override;
  std::size_t auto_train_points() const override;
  void train(std::size_t n, const float* x) override;
  void add(std::size_t n, const float* x, const std::uint64_t* ids) override;
  void remove(const std::vector<std::uint64_t>& ids) override;
  void search(std::size_t n, const float* x, int k, float* scores, std::uint64_t* ids,
              const SearchTuning& tuning) const override;
  bool reconstruct(std::size_t n, const std::uint64_t* ids, float* out,
                   std::vector<bool>* found) const override;
  bool can_filter() const override;
  bool exhaustive() const override;
  bool walks_graph() const override;
  std::size_t size() const override;
  std::size_t tombstones() const override;
  void serialize_to(ByteSink& out) const override;

 private:
  explicit FaissIndex(const IndexSpec& spec);
  SearchTuning filtered_ivf_tuning(const SearchTuning& tuning) const;
  void widen_filtered_ivf(std::size_t n, const float* x, int k, const SearchTuning& tuning,
                          faiss::IDSelector& accept, float* scores, std::int64_t* labels) const;
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace engram::index
