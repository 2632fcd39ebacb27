// kNN-LM read-out (ModelConfig::memory_knn) and sentence-level segmentation for ingestion:
// a bare prompt produces the same key as the same words at the start of an ingested sentence,
// and an exact key match makes the stored next token the model's prediction.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "engram/database.h"
#include "engram/error.h"
#include "lm/corpus.h"
#include "lm/memory_store.h"
#include "lm/model.h"
#include "lm/tokenizer.h"
#include "test_util.h"

namespace engram::lm {
namespace {

using testing::TempDir;

TEST(Corpus, InitialsAndTitlesDoNotEndASentence) {
  Document d{"f", 100, "John L. H. Down was born in the year 1828. Mr. Darcy came! Is it? Yes. St. Paul\nNext"};
  std::vector<std::string> got;
  for (const auto& s : split_sentences(d)) got.push_back(s.text);
  const std::vector<std::string> want = {"John L. H. Down was born in the year 1828.", "Mr. Darcy came!", "Is it?",
                                         "Yes.", "St. Paul", "Next"};
  EXPECT_EQ(got, want);
  EXPECT_EQ(split_sentences(d)[1].offset, 100u + 43u);
}

TEST(Corpus, SentenceSegmentsEncodeEachSentenceOnItsOwn) {
  TempDir dir;
  std::vector<std::string> texts;
  for (const auto& dd : read_documents({testing::testdata("austen-sample.txt")})) texts.push_back(dd.text);
  Tokenizer::train(texts, 150, dir / "t.model", 1);
  Tokenizer tok = Tokenizer::load(dir / "t.model");
  Document d{"f", 0, "It was a fine day. Ada Lovelace was born in the year 1815. The end of a rather long sentence here."};
  const auto sents = split_sentences(d);
  ASSERT_EQ(sents.size(), 3u);
  const auto segs = sentence_segments(tok, d, 8);
  std::vector<int> joined;
  std::size_t n = 0;
  for (const auto& s : sents) {
    const auto ids = tok.encode(s.text);
    // Every sentence starts a segment; one longer than max_len goes on in the next one.
    for (std::size_t b = 0; b < ids.size(); b += 8, ++n) {
      ASSERT_LT(n, segs.size());
      EXPECT_EQ(segs[n].tokens, std::vector<int>(ids.begin() + b, ids.begin() + std::min(ids.size(), b + 8)));
      EXPECT_EQ(segs[n].offsets.front(), s.offset);
    }
  }
  EXPECT_EQ(n, segs.size());
  // The prefix of the fact sentence is exactly what a bare prompt encodes to.
  const auto prompt = tok.encode("Ada Lovelace was born in the year");
  const auto fact = tok.encode(sents[1].text);
  ASSERT_LT(prompt.size(), fact.size());
  EXPECT_EQ(prompt, std::vector<int>(fact.begin(), fact.begin() + prompt.size()));
}

ModelConfig knn_config() {
  ModelConfig c = testing::tiny_config(64);
  c.memory_knn = true;
  c.memory_k = 8;
  return c;
}

TEST(Knn, SlotValuesAreTheNextTokens) {
  torch::manual_seed(1);
  Gpt model(knn_config());
  auto idx = torch::randint(0, 64, {2, 10}, torch::kLong);  // [B, T]
  MemorySlots s = model->encode_slots(idx);
  ASSERT_EQ(s.values.size(1), 9);
  EXPECT_TRUE(torch::equal(s.values.select(2, 0).to(torch::kLong), idx.narrow(1, 1, 9)));
  EXPECT_EQ(s.values.narrow(2, 1, s.values.size(2) - 1).abs().sum().item<float>(), 0.0f);
  // trace() hands out the same slots as encode_slots().
  MemorySlots f = model->trace(idx, nullptr, nullptr, true).slots;
  EXPECT_TRUE(torch::allclose(f.keys, s.keys, 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(f.values, s.values));
}

// Inserts the (key, value) slots the model encodes for `seqs` into `mem`.
template <class Mem>
void store_slots(Gpt& model, const ModelConfig& cfg, Mem& mem, const torch::Tensor& seqs) {
  torch::NoGradGuard ng;
  MemorySlots s = model->encode_slots(seqs);
  const int d = cfg.mem_dim();
  auto k = s.keys.reshape({-1, d}).contiguous();
  auto v = s.values.reshape({-1, d}).contiguous();
  mem.insert(MatrixView(k.data_ptr<float>(), k.size(0), d), MatrixView(v.data_ptr<float>(), v.size(0), d));
}

TEST(Knn, AnExactKeyMatchPredictsTheStoredToken) {
  torch::manual_seed(2);
  ModelConfig cfg = knn_config();
  Gpt model(cfg);
  {
    torch::NoGradGuard ng;
    model->blocks[cfg.memory_layer]->memory->log_scale.fill_(std::log(2000.0f));
  }
  TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = open_model_memory(*db, "m", cfg, true);
  auto seqs = torch::randint(0, 64, {20, 12}, torch::kLong);  // 20 "sentences"
  store_slots(model, cfg, *mem, seqs);
  int hits = 0, total = 0;
  torch::NoGradGuard ng;
  for (int i = 0; i < 20; ++i)
    for (int t : {3, 7, 10}) {
      auto prefix = seqs[i].narrow(0, 0, t + 1).view({1, -1});
      auto with = model->forward(prefix, mem.get());
      hits += with[0][-1].argmax().item<int64_t>() == seqs[i][t + 1].item<int64_t>();
      ++total;
    }
  EXPECT_EQ(hits, total);
  // Without a memory the output is the plain LM's.
  auto x = seqs.narrow(0, 0, 2);
  EXPECT_TRUE(torch::isfinite(model->forward(x, nullptr)).all().item<bool>());
}

TEST(Knn, InterpolationStartsHighForExactMatchesOnly) {
  Gpt model(knn_config());  // the model's initialisation must leave λ's offsets at 0
  auto& m = model->blocks[model->cfg.memory_layer]->memory;
  EXPECT_EQ(m->lam_w.item<float>(), 0.0f);
  EXPECT_EQ(m->lam_b.item<float>(), 0.0f);
  EXPECT_GT(m->knn_lambda(torch::ones({1})).item<float>(), 0.85f);
  EXPECT_LT(m->knn_lambda(torch::full({1}, 0.5f)).item<float>(), 0.1f);
}

// A kNN model whose memory holds the slots of 4 random sequences; x/y: their inputs/targets.
struct KnnWithMemory {
  // The seed is set before the model's weights are drawn (the comma runs it first).
  explicit KnnWithMemory(int seed) : cfg(knn_config()), model((torch::manual_seed(seed), cfg)) {
    db = Database::open(dir.path());
    mem = open_model_memory(*db, "m", cfg, true);
    auto seqs = torch::randint(0, 64, {4, 12}, torch::kLong);
    store_slots(model, cfg, *mem, seqs);
    x = seqs.narrow(1, 0, 11);
    y = seqs.narrow(1, 1, 11);
  }
  ModelConfig cfg;
  Gpt model;
  TempDir dir;
  std::unique_ptr<Database> db;
  std::shared_ptr<Memory> mem;
  torch::Tensor x, y;
};

TEST(Knn, GradientsReachScaleInterpolationAndQueries) {
  KnnWithMemory k(3);
  auto loss = lm_loss(k.model->forward(k.x, k.mem.get()), k.y);
  loss.backward();
  auto& m = k.model->blocks[k.cfg.memory_layer]->memory;
  ASSERT_TRUE(m->log_scale.grad().defined());
  EXPECT_NE(m->log_scale.grad().item<float>(), 0.0f);
  EXPECT_NE(m->lam_w.grad().item<float>(), 0.0f);
  EXPECT_GT(m->wq->weight.grad().abs().sum().item<float>(), 0.0f);
}

TEST(Knn, TheLossAtTheTargetsEqualsTheLossOfTheMixedDistribution) {
  KnnWithMemory k(5);
  const auto full = lm_loss(k.model->forward(k.x, k.mem.get()), k.y).item<double>();
  const Trace t = k.model->trace(k.x, k.mem.get());
  ASSERT_TRUE(t.knn.alpha.defined());
  // forward() is the trace's output: the mixture of its logits and its kNN read.
  EXPECT_TRUE(torch::allclose(k.model->output(t), k.model->forward(k.x, k.mem.get()), 1e-5, 1e-6));
  EXPECT_NEAR(trace_loss(t, k.y).item<double>(), full, 1e-4);
}

TEST(Corpus, ASentenceEndsAfterClosingQuotes) {
  Document d{"f", 0, "\"It was.\" He left. \"Why?\" she asked. (See above.) Then X was born in the year 1908. End"};
  std::vector<std::string> got;
  for (const auto& s : split_sentences(d)) got.push_back(s.text);
  const std::vector<std::string> want = {"\"It was.\"", "He left.", "\"Why?\"", "she asked.", "(See above.)",
                                         "Then X was born in the year 1908.", "End"};
  EXPECT_EQ(got, want);
  EXPECT_EQ(split_sentences(d)[1].offset, 10u);
}

TEST(Knn, AFixedReadOutReplacesTheLearnedOne) {
  ModelConfig cfg = knn_config();
  cfg.readout.scale = 200.0f;
  cfg.readout.lambda_slope = 50.0f;
  cfg.readout.lambda_center = 0.9f;
  cfg.readout.lambda_max = 0.8f;
  const ModelConfig back = model_config_from_json(model_config_to_json(cfg));
  EXPECT_EQ(back.readout.scale, 200.0f);
  EXPECT_EQ(back.readout.lambda_slope, 50.0f);
  EXPECT_FLOAT_EQ(back.readout.lambda_center, 0.9f);
  EXPECT_FLOAT_EQ(back.readout.lambda_max, 0.8f);
  Gpt model(cfg);
  auto& m = model->blocks[cfg.memory_layer]->memory;
  EXPECT_FLOAT_EQ(m->knn_scale().item<float>(), 200.0f);
  for (float c : {0.5f, 0.9f, 0.95f, 1.0f})
    EXPECT_NEAR(m->knn_lambda(torch::full({1}, c)).item<float>(), 0.8 / (1 + std::exp(-50.0 * (c - 0.9))), 1e-6);
  // The learned values are used when the fixed ones are 0 (the default).
  Gpt learned(knn_config());
  auto& l = learned->blocks[cfg.memory_layer]->memory;
  EXPECT_FLOAT_EQ(l->knn_scale().item<float>(), l->log_scale.exp().item<float>());
  EXPECT_NEAR(l->knn_lambda(torch::ones({1})).item<float>(), 1 / (1 + std::exp(-2.0)), 1e-6);
  cfg.readout.lambda_max = 1.5f;
  EXPECT_THROW(validate(cfg), Error);
}

TEST(Knn, ASharpReadOutLetsTheExactKeyWinAmongNearDuplicates) {
  // Slots whose keys are almost the query's (cos 0.99) outnumber the exact one 30 to 1: the
  // learned-style soft read-out (scale 30) follows the crowd, a sharp one the exact match.
  ModelConfig cfg = knn_config();
  cfg.memory_k = 32;
  const int d = cfg.mem_dim();
  TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = open_model_memory(*db, "m", cfg, true);
  torch::manual_seed(4);
  auto q = torch::randn({d});
  q = q / q.norm();
  std::vector<float> keys, values;
  auto add = [&](const torch::Tensor& k, int token) {
    auto kk = (k / k.norm()).contiguous();
    keys.insert(keys.end(), kk.data_ptr<float>(), kk.data_ptr<float>() + d);
    std::vector<float> v(d, 0.0f);
    v[0] = static_cast<float>(token);
    values.insert(values.end(), v.begin(), v.end());
  };
  add(q, 7);
  for (int i = 0; i < 30; ++i) add(q + 0.14f * torch::randn({d}) / std::sqrt(static_cast<float>(d)), 9);
  mem->insert(MatrixView(keys.data(), 31, d), MatrixView(values.data(), 31, d));
  auto h = torch::randn({1, 1, cfg.d_model});
  for (float scale : {30.0f, 2000.0f}) {
    ModelConfig c = cfg;
    c.readout.scale = scale;
    MemoryAttention m(c);
    // Make the sublayer's query exactly q: LN(h) = x, W_q = projection onto q.
    torch::NoGradGuard ng;
    auto x = m->ln(h).view({-1});
    m->wq->weight.copy_(torch::outer(q, x) / x.dot(x));
    KnnRead r = m->knn(h, mem.get());
    auto p = torch::zeros({64}).scatter_add(0, r.tokens.view({-1}), r.alpha.view({-1}));
    if (scale < 100)
      EXPECT_GT(p[9].item<float>(), p[7].item<float>());
    else
      EXPECT_GT(p[7].item<float>(), 0.9f);
  }
}

}  // namespace
}  // namespace engram::lm
