// The memory sublayer equals its formula; gradients reach W_q, W_o and the gate, never the store.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "engram/database.h"
#include "lm/memory_layer.h"
#include "lm/memory_store.h"
#include "test_util.h"

namespace engram::lm {
namespace {

using testing::TempDir;
using testing::tiny_config;

struct Fixture {
  TempDir dir;
  std::unique_ptr<Database> db;
  std::shared_ptr<Memory> mem;
  std::vector<SlotId> ids;
  Fixture(const ModelConfig& cfg, int n) {
    db = Database::open(dir.path());
    mem = open_model_memory(*db, "m", cfg, true);
    const int d = cfg.mem_dim();
    auto k = torch::randn({n, d});
    k = k / k.norm(2, -1, true);
    auto v = torch::randn({n, d});
    ids = mem->insert(MatrixView(k.data_ptr<float>(), n, d), MatrixView(v.data_ptr<float>(), n, d));
  }
};

void check_formula(bool cosine) {
  torch::manual_seed(3);
  ModelConfig cfg = tiny_config();
  cfg.memory_cosine = cosine;
  cfg.gate_init = 0.3f;
  Fixture f(cfg, 50);
  MemoryAttention layer(cfg);
  auto h = torch::randn({2, 5, cfg.d_model});  // [B, T, C]
  auto out = layer->forward(h, f.mem.get());   // [B, T, C]

  // The formula, computed here from what the store returns for the same queries.
  torch::NoGradGuard ng;
  const int d = cfg.mem_dim(), k = cfg.memory_k;
  auto q = layer->wq(layer->ln(h)).reshape({10, d});  // [N, dk]
  if (cosine) q = q / (q.norm(2, -1, true) + 1e-6);
  auto qc = q.contiguous();
  RetrieveResult r = f.mem->retrieve(MatrixView(qc.data_ptr<float>(), 10, d), k);
  auto K = torch::from_blob(r.keys.data(), {10, k, d}).clone();    // [N, k, dk]
  auto V = torch::from_blob(r.values.data(), {10, k, d}).clone();  // [N, k, dv]
  auto s = torch::einsum("nd,nkd->nk", {q, K});                    // [N, k]
  s = cosine ? s * layer->log_scale.exp() : s / std::sqrt(static_cast<double>(d));
  auto alpha = torch::softmax(s, -1);                                        // [N, k]
  auto expected = layer->gate * layer->wo(torch::einsum("nk,nkd->nd", {alpha, V}));  // [N, C]
  EXPECT_TRUE(torch::allclose(out.reshape({10, -1}), expected, 1e-5, 1e-6));
}

TEST(MemoryLayer, EqualsItsFormulaCosine) { check_formula(true); }
TEST(MemoryLayer, EqualsItsFormulaScaledDot) { check_formula(false); }

TEST(MemoryLayer, GateStartsNearZero) {
  ModelConfig cfg = tiny_config();
  MemoryAttention layer(cfg);
  EXPECT_LT(layer->gate.abs().max().item<float>(), 0.05f);
}

TEST(MemoryLayer, GradientsReachQueryOutputAndGateButNeverTheStore) {
  torch::manual_seed(4);
  ModelConfig cfg = tiny_config();
  cfg.tie_memory_qk = false;  // a separate W_k and W_v: they only make stored slots
  Fixture f(cfg, 40);
  const auto before = f.mem->get(f.ids);
  MemoryAttention layer(cfg);
  auto h = torch::randn({2, 6, cfg.d_model}, torch::requires_grad());
  auto out = layer->forward(h, f.mem.get());  // [B, T, C]
  out.pow(2).sum().backward();
  auto nonzero = [](const torch::Tensor& g) { return g.defined() && g.abs().sum().item<double>() > 0; };
  EXPECT_TRUE(nonzero(layer->wq->weight.grad()));
  EXPECT_TRUE(nonzero(layer->wo->weight.grad()));
  EXPECT_TRUE(nonzero(layer->gate.grad()));
  EXPECT_TRUE(nonzero(h.grad()));
  // Retrieved keys and values are constants: nothing flows to the projections that made them.
  EXPECT_FALSE(nonzero(layer->wk->weight.grad()));
  EXPECT_FALSE(nonzero(layer->wv->weight.grad()));
  // And the store is untouched by the backward pass.
  const auto after = f.mem->get(f.ids);
  for (std::size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i].key, after[i].key);
    EXPECT_EQ(before[i].value, after[i].value);
  }
}

TEST(MemoryLayer, EmptyMemoryReadsNothing) {
  ModelConfig cfg = tiny_config();
  TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = open_model_memory(*db, "empty", cfg, true);
  MemoryAttention layer(cfg);
  auto out = layer->forward(torch::randn({1, 4, cfg.d_model}), mem.get());
  EXPECT_TRUE(torch::all(out == 0).item<bool>());
  EXPECT_FALSE(torch::any(torch::isnan(out)).item<bool>());
}

TEST(MemoryLayer, SlotsPairAKeyWithTheNextPositionsValue) {
  torch::manual_seed(5);
  ModelConfig cfg = tiny_config();
  MemoryAttention layer(cfg);
  auto h = torch::randn({1, 6, cfg.d_model});
  MemorySlots s = layer->slots(h);
  ASSERT_EQ(s.keys.size(1), 5);
  auto x = layer->ln(h);
  auto k = layer->wq(x);
  k = k / (k.norm(2, -1, true) + 1e-6);
  EXPECT_TRUE(torch::allclose(s.keys, k.narrow(1, 0, 5)));
  EXPECT_TRUE(torch::allclose(s.values, layer->wv(x).narrow(1, 1, 5)));
}

}  // namespace
}  // namespace engram::lm
