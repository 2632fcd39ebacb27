// Causal masking and KV-cache consistency of the decoder.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/database.h"
#include "engram/error.h"
#include "lm/memory_store.h"
#include "lm/model.h"
#include "test_util.h"

namespace engram::lm {
namespace {

using testing::TempDir;
using testing::tiny_config;

// Fills a memory with random unit keys so that the memory sublayer has something to read.
void fill_random(Memory& mem, int n, int dim) {
  auto k = torch::randn({n, dim});
  k = k / k.norm(2, -1, true);
  auto v = torch::randn({n, dim});
  mem.insert(MatrixView(k.data_ptr<float>(), n, dim), MatrixView(v.data_ptr<float>(), n, dim));
}

TEST(Model, ChangingAFutureTokenChangesNoEarlierLogit) {
  torch::manual_seed(0);
  ModelConfig cfg = tiny_config();
  cfg.gate_init = 0.5f;  // make the memory's contribution visible
  Gpt model(cfg);
  model->eval();
  TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = open_model_memory(*db, "m", cfg, true);
  fill_random(*mem, 100, cfg.mem_dim());
  torch::NoGradGuard ng;
  for (MemoryInterface* m : {static_cast<MemoryInterface*>(nullptr), static_cast<MemoryInterface*>(mem.get())}) {
    auto x = torch::randint(0, cfg.vocab_size, {2, 16}, torch::kLong);
    auto y = x.clone();
    y.index_put_({torch::indexing::Slice(), 10}, (x.index({torch::indexing::Slice(), 10}) + 1) % cfg.vocab_size);
    auto a = model->forward(x, m), b = model->forward(y, m);  // [2, 16, V]
    using torch::indexing::Slice;
    EXPECT_TRUE(torch::equal(a.index({Slice(), Slice(0, 10)}), b.index({Slice(), Slice(0, 10)})));
    EXPECT_FALSE(torch::allclose(a.index({Slice(), 10}), b.index({Slice(), 10})));
  }
}

TEST(Model, KvCacheGivesTheSameLogitsAsAFullPass) {
  torch::manual_seed(1);
  ModelConfig cfg = tiny_config();
  Gpt model(cfg);
  model->eval();
  torch::NoGradGuard ng;
  auto x = torch::randint(0, cfg.vocab_size, {1, 12}, torch::kLong);
  auto full = model->forward(x);  // [1, 12, V]
  ModelCache cache;
  auto first = model->forward(x.narrow(1, 0, 5), nullptr, &cache);  // [1, 5, V]
  EXPECT_TRUE(torch::allclose(first, full.narrow(1, 0, 5), 1e-5, 1e-5));
  for (int t = 5; t < 12; ++t) {
    auto step = model->forward(x.narrow(1, t, 1), nullptr, &cache);  // [1, 1, V]
    EXPECT_TRUE(torch::allclose(step[0][0], full[0][t], 1e-4, 1e-5)) << "position " << t;
  }
  EXPECT_EQ(cache.length(), 12);
}

TEST(Model, APrefixIsReadBothWaysAndWhatFollowsItCausally) {
  torch::manual_seed(2);
  ModelConfig cfg = tiny_config();
  Gpt model(cfg);
  model->eval();
  torch::NoGradGuard ng;
  auto x = torch::randint(0, cfg.vocab_size, {2, 12}, torch::kLong);
  auto prefix = torch::tensor(std::vector<int64_t>{6, 0}, torch::kLong);  // row 0: a 6-token prefix
  auto y = x.clone();
  y.index_put_({torch::indexing::Slice(), 4}, (x.index({torch::indexing::Slice(), 4}) + 1) % cfg.vocab_size);
  auto a = model->forward(x, nullptr, nullptr, prefix), b = model->forward(y, nullptr, nullptr, prefix);
  // Row 0: position 2 sees position 4 (both in the prefix); row 1 (no prefix) does not.
  EXPECT_FALSE(torch::allclose(a[0][2], b[0][2]));
  EXPECT_TRUE(torch::allclose(a[1][2], b[1][2]));
  // A change after the prefix (position 8) reaches no earlier position.
  auto z = x.clone();
  z.index_put_({0, 8}, (x.index({0, 8}) + 1) % cfg.vocab_size);
  auto c = model->forward(z, nullptr, nullptr, prefix);
  EXPECT_TRUE(torch::allclose(a[0].narrow(0, 0, 8), c[0].narrow(0, 0, 8)));
  // Decoding after a prefix with the KV cache gives the full pass's logits.
  ModelCache cache;
  auto first = model->forward(x.narrow(0, 0, 1).narrow(1, 0, 6), nullptr, &cache, prefix.narrow(0, 0, 1));
  EXPECT_TRUE(torch::allclose(first[0], a[0].narrow(0, 0, 6), 1e-5, 1e-5));
  for (int t = 6; t < 12; ++t) {
    auto step = model->forward(x.narrow(0, 0, 1).narrow(1, t, 1), nullptr, &cache);
    EXPECT_TRUE(torch::allclose(step[0][0], a[0][t], 1e-4, 1e-5)) << "position " << t;
  }
}

TEST(CopyHead, CopiesFromThePrefixOnlyAndItsLossIsTheOutputs) {
  torch::manual_seed(3);
  ModelConfig cfg = tiny_config();
  cfg.copy_head = true;
  Gpt model(cfg);
  model->eval();
  torch::NoGradGuard ng;
  auto x = torch::randint(0, cfg.vocab_size, {2, 12}, torch::kLong);
  auto prefix = torch::tensor(std::vector<int64_t>{6, 0}, torch::kLong);
  const Trace t = model->trace(x, nullptr, nullptr, false, prefix);
  ASSERT_TRUE(t.copy.defined());
  auto out = model->output(t);  // [2, 12, V] log-probabilities
  EXPECT_TRUE(torch::allclose(out.exp().sum(-1), torch::ones({2, 12}), 1e-4, 1e-4));
  // A row without a prefix copies nothing: its output is the LM's own.
  EXPECT_TRUE(torch::allclose(out[1], torch::log_softmax(t.logits[1], -1), 1e-4, 1e-5));
  // The loss at the targets is the loss of the mixed distribution (skipped targets aside).
  auto y = torch::randint(0, cfg.vocab_size, {2, 12}, torch::kLong);
  y.index_put_({0, torch::indexing::Slice(0, 5)}, -1);
  EXPECT_NEAR(trace_loss(t, y).item<double>(), lm_loss(out, y).item<double>(), 1e-4);
  // Gate wide open: after the prefix, all the mass is on the prefix's tokens.
  model->copy->wg->bias.fill_(50.0);
  auto open = model->forward(x, nullptr, nullptr, prefix).exp();  // [2, 12, V]
  float on_prefix = 0;
  auto seen = std::get<0>(at::_unique(x[0].narrow(0, 0, 6)));
  for (int64_t i = 0; i < seen.size(0); ++i) on_prefix += open[0][9][seen[i].item<int64_t>()].item<float>();
  EXPECT_NEAR(on_prefix, 1.0f, 1e-3);
}

TEST(CopyHead, FollowsTheTokenJustReadAndTrainsWithRowsWithoutPassages) {
  torch::manual_seed(4);
  ModelConfig cfg = tiny_config();
  cfg.copy_head = true;
  Gpt model(cfg);
  // Position 7 reads token x[0][2]: with a large β the pointer goes to prefix position 3.
  auto x = torch::randint(0, cfg.vocab_size, {2, 12}, torch::kLong);
  x.index_put_({0, 7}, x.index({0, 2}));
  for (int j : {0, 1, 3, 4, 5}) x.index_put_({0, j}, (x.index({0, 2}) + 1 + j) % cfg.vocab_size);
  auto prefix = torch::tensor(std::vector<int64_t>{6, 0}, torch::kLong);
  {
    torch::NoGradGuard ng;
    model->copy->beta.fill_(50.0);
    const Trace t = model->trace(x, nullptr, nullptr, false, prefix);
    EXPECT_GT(t.copy.alpha[0][7][3].item<float>(), 0.99f);
    EXPECT_EQ(t.copy.alpha[1].abs().sum().item<float>(), 0.0f);  // no passages, no copying
    model->copy->beta.fill_(4.0);
  }
  // A batch mixing a row with passages and one without: every gradient is finite.
  model->train();
  auto y = torch::randint(0, cfg.vocab_size, {2, 12}, torch::kLong);
  auto loss = trace_loss(model->trace(x, nullptr, nullptr, false, prefix), y);
  loss.backward();
  for (const auto& p : model->named_parameters())
    if (p.value().grad().defined())
      EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
  EXPECT_TRUE(model->copy->beta.grad().defined());
}

TEST(CopyHead, ALongerMatchedRunPicksTheOccurrenceTheTextContinues) {
  torch::manual_seed(5);
  ModelConfig cfg = tiny_config();
  cfg.copy_head = true;
  cfg.copy_match = 4;
  Gpt model(cfg);
  model->eval();
  torch::NoGradGuard ng;
  // Prefix "c a X d a Y" (positions 0..5); the text then reads "d a": the token just read, a,
  // occurs twice, but only the second occurrence continues "d a" — its next token is Y (5).
  const int64_t a = 7, c = 11, d = 13, X = 17, Y = 19;
  auto x = torch::tensor(std::vector<int64_t>{c, a, X, d, a, Y, 23, 29, d, a, 31, 37}, torch::kLong).view({1, 12});
  auto prefix = torch::tensor(std::vector<int64_t>{6}, torch::kLong);
  model->copy->beta.fill_(5.0);
  model->copy->gamma.fill_(20.0);
  model->copy->wc->bias.fill_(20.0);  // runs fully trusted
  const Trace t = model->trace(x, nullptr, nullptr, false, prefix);
  EXPECT_GT(t.copy.alpha[0][9][5].item<float>(), 0.99f);
  // Decoding token by token sees the same runs: the cache keeps the tokens read.
  auto full = model->output(t);
  ModelCache cache;
  model->forward(x.narrow(1, 0, 6), nullptr, &cache, prefix);
  for (int64_t i = 6; i < 12; ++i) {
    auto step = model->forward(x.narrow(1, i, 1), nullptr, &cache);
    EXPECT_TRUE(torch::allclose(step[0][0], full[0][i], 1e-4, 1e-5)) << "position " << i;
  }
  // With runs of one token only, both occurrences of a score alike.
  model->copy->gamma.fill_(0.0);
  const Trace one = model->trace(x, nullptr, nullptr, false, prefix);
  EXPECT_LT(one.copy.alpha[0][9][5].item<float>(), 0.9f);
  // And a position that does not trust runs gets no bonus from them at all.
  model->copy->gamma.fill_(20.0);
  model->copy->wc->bias.fill_(-30.0);
  const Trace distrust = model->trace(x, nullptr, nullptr, false, prefix);
  EXPECT_LT(distrust.copy.alpha[0][9][5].item<float>(), 0.9f);
}

TEST(Model, TooManyPositionsIsAClearError) {
  Gpt model(tiny_config());
  auto x = torch::zeros({1, 17}, torch::kLong);
  EXPECT_THROW({ auto y = model->forward(x); (void)y; }, engram::Error);
}

}  // namespace
}  // namespace engram::lm
