// Pins read() and write() to the formulas of DESIGN.md: with an exact index and k = N they equal
// the dense softmax / gate over all N slots; with k < N, a brute-force top-k computed here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tests/test_util.h"

namespace engram {
namespace {

using testing::make_config;
using testing::random_matrix;
using testing::TempDir;

constexpr int kDk = 8, kDv = 6;
constexpr std::size_t kN = 200;

double score(Metric m, const float* q, const float* k, int d) {
  double s = 0;
  for (int i = 0; i < d; ++i) s += m == Metric::kL2 ? -(double(q[i]) - k[i]) * (double(q[i]) - k[i]) : double(q[i]) * k[i];
  return s;
}

struct Dense {
  std::vector<double> weights;  // over all N, by slot index
  std::vector<double> read;     // dv
};

// α = softmax(s/τ) over `members` (indexes into keys), r = Σ α v.
Dense dense_read(Metric m, const float* q, const std::vector<float>& keys,
                 const std::vector<float>& values, const std::vector<std::size_t>& members, double tau) {
  Dense out;
  out.weights.assign(kN, 0.0);
  out.read.assign(kDv, 0.0);
  double best = -INFINITY;
  for (auto i : members) best = std::max(best, score(m, q, &keys[i * kDk], kDk) / tau);
  double sum = 0;
  for (auto i : members) sum += out.weights[i] = std::exp(score(m, q, &keys[i * kDk], kDk) / tau - best);
  for (auto i : members) {
    out.weights[i] /= sum;
    for (int d = 0; d < kDv; ++d) out.read[d] += out.weights[i] * values[i * kDv + d];
  }
  return out;
}

std::vector<std::size_t> top_k(Metric m, const float* q, const std::vector<float>& keys, std::size_t k) {
  std::vector<std::size_t> order(kN);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) {
    return score(m, q, &keys[a * kDk], kDk) > score(m, q, &keys[b * kDk], kDk);
  });
  order.resize(k);
  return order;
}

class ExactnessTest : public ::testing::TestWithParam<Metric> {
 protected:
  void SetUp() override {
    db_ = Database::open(dir_.path());
    auto cfg = make_config(kDk, kDv, "Flat", GetParam());
    cfg.gate_bias = -0.5f;
    mem_ = db_->create_memory("m", cfg);
    keys_ = random_matrix(kN, kDk, 1);
    for (auto& x : keys_) x *= 0.4f;  // keep softmax away from one-hot so every weight matters
    values_ = random_matrix(kN, kDv, 2);
    ids_ = mem_->insert(MatrixView(keys_, kDk), MatrixView(values_, kDv));
    ASSERT_EQ(ids_.size(), kN);
  }
  TempDir dir_;
  std::unique_ptr<Database> db_;
  std::shared_ptr<Memory> mem_;
  std::vector<float> keys_, values_;
  std::vector<SlotId> ids_;
};

TEST_P(ExactnessTest, ReadWithKEqualNIsDenseSoftmaxAttention) {
  const auto queries = random_matrix(5, kDk, 3);
  std::vector<std::size_t> all(kN);
  std::iota(all.begin(), all.end(), 0);
  for (float tau : {1.0f, 0.5f, 3.0f}) {
    auto r = mem_->read(MatrixView(queries, kDk), {.k = kN, .temperature = tau});
    for (std::size_t qi = 0; qi < 5; ++qi) {
      Dense d = dense_read(GetParam(), &queries[qi * kDk], keys_, values_, all, tau);
      for (int c = 0; c < kDv; ++c) EXPECT_NEAR(r.reads[qi * kDv + c], d.read[c], 1e-5);
      double total = 0;
      for (std::size_t j = 0; j < kN; ++j) {
        const SlotId id = r.ids[qi * kN + j];
        ASSERT_LT(id, kN);
        EXPECT_NEAR(r.weights[qi * kN + j], d.weights[id], 1e-5);
        total += r.weights[qi * kN + j];
      }
      EXPECT_NEAR(total, 1.0, 1e-5);
    }
  }
}

TEST_P(ExactnessTest, ReadWithSmallKIsSoftmaxOverBruteForceTopK) {
  const auto queries = random_matrix(7, kDk, 4);
  const int k = 10;
  auto r = mem_->read(MatrixView(queries, kDk), {.k = k});
  for (std::size_t qi = 0; qi < 7; ++qi) {
    auto members = top_k(GetParam(), &queries[qi * kDk], keys_, k);
    Dense d = dense_read(GetParam(), &queries[qi * kDk], keys_, values_, members, 1.0);
    for (int j = 0; j < k; ++j) EXPECT_EQ(r.ids[qi * k + j], members[j]) << "rank " << j;
    for (int c = 0; c < kDv; ++c) EXPECT_NEAR(r.reads[qi * kDv + c], d.read[c], 1e-5);
  }
}

TEST_P(ExactnessTest, SearchAndRetrieveReturnBruteForceTopKWithScoresKeysAndValues) {
  const auto queries = random_matrix(3, kDk, 5);
  const int k = 12;
  auto s = mem_->search(MatrixView(queries, kDk), {.k = k});
  auto r = mem_->retrieve(MatrixView(queries, kDk), k);
  for (std::size_t qi = 0; qi < 3; ++qi) {
    auto members = top_k(GetParam(), &queries[qi * kDk], keys_, k);
    for (int j = 0; j < k; ++j) {
      const std::size_t e = qi * k + j, i = members[j];
      EXPECT_EQ(s.ids[e], i);
      EXPECT_EQ(r.ids[e], i);
      const double expect = score(GetParam(), &queries[qi * kDk], &keys_[i * kDk], kDk);
      EXPECT_NEAR(s.scores[e], expect, 1e-4);
      EXPECT_NEAR(r.scores[e], expect, 1e-4);
      for (int c = 0; c < kDk; ++c) EXPECT_EQ(r.keys[e * kDk + c], keys_[i * kDk + c]);
      for (int c = 0; c < kDv; ++c) EXPECT_EQ(r.values[e * kDv + c], values_[i * kDv + c]);
    }
  }
}

TEST_P(ExactnessTest, WriteWithKEqualNIsTheDenseGatedUpdate) {
  const auto query = random_matrix(1, kDk, 6);
  const auto w = random_matrix(1, kDv, 7);
  auto result = mem_->write(MatrixView(query, kDk), MatrixView(w, kDv), kN);
  auto slots = mem_->get(ids_);
  for (std::size_t i = 0; i < kN; ++i) {
    const double g = 1.0 / (1.0 + std::exp(-(score(GetParam(), query.data(), &keys_[i * kDk], kDk) - 0.5)));
    for (int c = 0; c < kDv; ++c) {
      EXPECT_NEAR(slots[i].value[c], g * w[c] + (1 - g) * values_[i * kDv + c], 1e-5);
    }
    EXPECT_EQ(slots[i].key, std::vector<float>(keys_.begin() + i * kDk, keys_.begin() + (i + 1) * kDk))
        << "write must not change keys";
  }
  for (std::size_t j = 0; j < kN; ++j) {
    const SlotId id = result.ids[j];
    const double g = 1.0 / (1.0 + std::exp(-(score(GetParam(), query.data(), &keys_[id * kDk], kDk) - 0.5)));
    EXPECT_NEAR(result.gates[j], g, 1e-5);
  }
}

TEST_P(ExactnessTest, WriteBatchComposesQueriesInRowOrderOnlyOnTopK) {
  const auto queries = random_matrix(2, kDk, 8);
  const auto w = random_matrix(2, kDv, 9);
  const int k = 20;
  mem_->write(MatrixView(queries, kDk), MatrixView(w, kDv), k);
  std::vector<double> expect(values_.begin(), values_.end());
  for (int qi = 0; qi < 2; ++qi) {
    for (auto i : top_k(GetParam(), &queries[qi * kDk], keys_, k)) {
      const double g = 1.0 / (1.0 + std::exp(-(score(GetParam(), &queries[qi * kDk], &keys_[i * kDk], kDk) - 0.5)));
      for (int c = 0; c < kDv; ++c) expect[i * kDv + c] = g * w[qi * kDv + c] + (1 - g) * expect[i * kDv + c];
    }
  }
  auto slots = mem_->get(ids_);
  for (std::size_t i = 0; i < kN; ++i) {
    for (int c = 0; c < kDv; ++c) EXPECT_NEAR(slots[i].value[c], expect[i * kDv + c], 1e-5) << "slot " << i;
  }
}

TEST_P(ExactnessTest, ValuesSurviveReopenAfterWrite) {
  const auto query = random_matrix(1, kDk, 10);
  const auto w = random_matrix(1, kDv, 11);
  mem_->write(MatrixView(query, kDk), MatrixView(w, kDv), 16, WriteOptions{true});
  auto before = mem_->get(ids_);
  mem_.reset();
  db_.reset();
  db_ = Database::open(dir_.path());
  auto after = db_->memory("m")->get(ids_);
  for (std::size_t i = 0; i < kN; ++i) EXPECT_EQ(before[i].value, after[i].value);
}

INSTANTIATE_TEST_SUITE_P(Metrics, ExactnessTest,
                         ::testing::Values(Metric::kInnerProduct, Metric::kL2),
                         [](const auto& info) { return std::string(metric_name(info.param)); });

}  // namespace
}  // namespace engram
