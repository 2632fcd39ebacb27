// Bad input gives a clear engram::Error.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "engram/database.h"
#include "engram/error.h"
#include "lm/checkpoint.h"
#include "lm/corpus.h"
#include "lm/device.h"
#include "lm/memory_store.h"
#include "lm/model.h"
#include "lm/trainer.h"
#include "test_util.h"

namespace engram::lm {
namespace {

using testing::TempDir;

template <typename F>
void expect_error(F f, ErrorCode code, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
  } catch (const engram::Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Errors, EmptyCorpus) {
  TempDir dir;
  { std::ofstream(dir / "empty.txt") << "\n  \n"; }
  TrainOptions o;
  o.inputs = {dir / "empty.txt"};
  o.out = dir / "model";
  o.quiet = true;
  expect_error([&] { train(o); }, ErrorCode::kInvalidArgument, "empty");
  expect_error([&] { Tokenizer::train({}, 100, dir / "t.model"); }, ErrorCode::kInvalidArgument, "empty");
}

TEST(Errors, CorpusTooShortForAnEpisode) {
  TempDir dir;
  { std::ofstream(dir / "short.txt") << "It is a truth universally acknowledged. Short text here.\n"; }
  TrainOptions o;
  o.inputs = {dir / "short.txt"};
  o.out = dir / "model";
  o.vocab_size = 30;
  o.model = testing::tiny_config();
  o.quiet = true;
  expect_error([&] { train(o); }, ErrorCode::kInvalidArgument, "too short");
}

TEST(Errors, MissingFilesAndTokenizer) {
  TempDir dir;
  expect_error([&] { read_documents({dir / "nope.txt"}); }, ErrorCode::kNotFound, "nope.txt");
  expect_error([&] { Tokenizer::load(dir / "missing.model"); }, ErrorCode::kNotFound, "missing.model");
  // A checkpoint whose tokenizer is gone.
  std::vector<std::string> texts;
  for (const auto& d : read_documents({testing::testdata("austen-sample.txt")})) texts.push_back(d.text);
  Tokenizer::train(texts, 100, dir / "tok.model", 1);
  Tokenizer tok = Tokenizer::load(dir / "tok.model");
  Gpt model(testing::tiny_config(tok.vocab_size()));
  save_checkpoint(dir / "m", model, nullptr, {}, tok, "{}");
  std::filesystem::remove(dir / "m/tokenizer.model");
  expect_error([&] { load_checkpoint(dir / "m", c10::Device(c10::kCPU)); }, ErrorCode::kNotFound, "tokenizer");
  expect_error([&] { load_checkpoint(dir / "nothing-here", c10::Device(c10::kCPU)); }, ErrorCode::kNotFound, "nothing-here");
}

TEST(Errors, MemoryDimensionsMustMatchTheModel) {
  TempDir dir;
  auto db = Database::open(dir.path());
  MemoryConfig mc;
  mc.key_dim = 16;  // the tiny model's memory width is 32
  mc.value_dim = 16;
  auto mem = db->create_memory("small", mc);
  ModelConfig cfg = testing::tiny_config();
  Gpt model(cfg);
  auto x = torch::zeros({1, 4}, torch::kLong);
  expect_error([&] { model->forward(x, mem.get()); }, ErrorCode::kInvalidArgument, "key_dim 16");
  expect_error([&] { open_model_memory(*db, "small", cfg, false); }, ErrorCode::kInvalidArgument, "key_dim 16");
}

TEST(Errors, BadFactsAndConfig) {
  TempDir dir;
  { std::ofstream(dir / "f.tsv") << "a prompt without a tab\n"; }
  expect_error([&] { read_facts(dir / "f.tsv"); }, ErrorCode::kInvalidArgument, "f.tsv:1");
  ModelConfig c = testing::tiny_config();
  c.n_head = 5;
  expect_error([&] { validate(c); }, ErrorCode::kInvalidArgument, "n_head");
  c = testing::tiny_config();
  c.memory_layer = 7;
  expect_error([&] { Gpt m(c); }, ErrorCode::kInvalidArgument, "memory_layer");
}

TEST(Errors, CudaWithoutCudaIsClear) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "this LibTorch has CUDA";
  expect_error([] { parse_device("cuda"); }, ErrorCode::kFailedPrecondition, "CUDA");
  expect_error([] { parse_device("tpu"); }, ErrorCode::kInvalidArgument, "tpu");
}

}  // namespace
}  // namespace engram::lm
