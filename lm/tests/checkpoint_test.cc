// save → load gives identical logits; the tokenizer travels with the model.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "engram/database.h"
#include "lm/checkpoint.h"
#include "lm/corpus.h"
#include "lm/memory_store.h"
#include "test_util.h"

namespace engram::lm {
namespace {

using testing::TempDir;

std::vector<std::string> sample_texts() {
  std::vector<std::string> t;
  for (const auto& d : read_documents({testing::testdata("austen-sample.txt")})) t.push_back(d.text);
  return t;
}

TEST(Checkpoint, SaveThenLoadGivesIdenticalLogits) {
  torch::manual_seed(6);
  TempDir dir;
  Tokenizer::train(sample_texts(), 120, dir / "tok.model", 1);
  Tokenizer tok = Tokenizer::load(dir / "tok.model");
  ModelConfig cfg = testing::tiny_config(tok.vocab_size());
  cfg.gate_init = 0.2f;
  Gpt model(cfg);
  // Move the weights off their initial values so that a load that silently kept the fresh
  // initialisation would be caught.
  {
    torch::NoGradGuard ng;
    for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.01);
  }
  save_checkpoint(dir / "model", model, nullptr, {42, 1000}, tok, "{}");
  LoadedModel loaded = load_checkpoint(dir / "model", c10::Device(c10::kCPU));
  EXPECT_EQ(loaded.state.step, 42);
  EXPECT_EQ(loaded.cfg.d_model, cfg.d_model);
  EXPECT_EQ(loaded.tokenizer->encode("a truth universally acknowledged"),
            tok.encode("a truth universally acknowledged"));

  auto db = Database::open(dir / "db");
  auto mem = open_model_memory(*db, "m", cfg, true);
  const std::vector<int> enc = tok.encode("It is a truth");
  auto ids = torch::tensor(std::vector<int64_t>(enc.begin(), enc.end())).view({1, -1});  // [1, T]
  model->eval();
  torch::NoGradGuard ng;
  MemorySlots s = model->encode_slots(ids);
  auto k = s.keys.reshape({-1, cfg.mem_dim()}).contiguous(), v = s.values.reshape({-1, cfg.mem_dim()}).contiguous();
  mem->insert(MatrixView(k.data_ptr<float>(), k.size(0), k.size(1)), MatrixView(v.data_ptr<float>(), v.size(0), v.size(1)));
  for (MemoryInterface* m : {static_cast<MemoryInterface*>(nullptr), static_cast<MemoryInterface*>(mem.get())}) {
    auto a = model->forward(ids, m);
    auto b = loaded.model->forward(ids, m);
    EXPECT_TRUE(torch::equal(a, b));
  }
}

}  // namespace
}  // namespace engram::lm
