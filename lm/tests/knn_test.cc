// kNN-LM read-out (ModelConfig::memory_knn) and sentence-level segmentation for ingestion:
// a bare prompt produces the same key as the same words at the start of an ingested sentence,
// and an exact key match makes the stored next token the model's prediction.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "engram/database.h"
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
  // forward() hands out the same slots as encode_slots().
  MemorySlots f;
  model->forward(idx, nullptr, nullptr, &f);
  EXPECT_TRUE(torch::allclose(f.keys, s.keys, 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(f.values, s.values));
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
  {
    torch::NoGradGuard ng;
    MemorySlots s = model->encode_slots(seqs);
    const int d = cfg.mem_dim();
    auto k = s.keys.reshape({-1, d}).contiguous();
    auto v = s.values.reshape({-1, d}).contiguous();
    mem->insert(MatrixView(k.data_ptr<float>(), k.size(0), d), MatrixView(v.data_ptr<float>(), v.size(0), d));
  }
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

TEST(Knn, GradientsReachScaleInterpolationAndQueries) {
  torch::manual_seed(3);
  ModelConfig cfg = knn_config();
  Gpt model(cfg);
  TempDir dir;
  auto db = Database::open(dir.path());
  auto mem = open_model_memory(*db, "m", cfg, true);
  auto seqs = torch::randint(0, 64, {4, 12}, torch::kLong);
  {
    torch::NoGradGuard ng;
    MemorySlots s = model->encode_slots(seqs);
    const int d = cfg.mem_dim();
    auto k = s.keys.reshape({-1, d}).contiguous();
    auto v = s.values.reshape({-1, d}).contiguous();
    mem->insert(MatrixView(k.data_ptr<float>(), k.size(0), d), MatrixView(v.data_ptr<float>(), v.size(0), d));
  }
  auto x = seqs.narrow(1, 0, 11), y = seqs.narrow(1, 1, 11);
  auto loss = lm_loss(model->forward(x, mem.get()), y);
  loss.backward();
  auto& m = model->blocks[cfg.memory_layer]->memory;
  ASSERT_TRUE(m->log_scale.grad().defined());
  EXPECT_NE(m->log_scale.grad().item<float>(), 0.0f);
  EXPECT_NE(m->lam_w.grad().item<float>(), 0.0f);
  EXPECT_GT(m->wq->weight.grad().abs().sum().item<float>(), 0.0f);
}

}  // namespace
}  // namespace engram::lm
