// model_route_test.cc — GET /v1/model, POST /v1/model/encode and /v1/model/generate with a real
// (tiny, untrained) model behind them, as engram-lm serve runs it (lm/model_service.h): what is
// loaded, text → query, a continuation whose per-token reads are the slots and weights the
// memory sublayer computes, bad requests, and the 404 without a model.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engram/database.h"
#include "lm/checkpoint.h"
#include "lm/corpus.h"
#include "lm/language_model.h"
#include "lm/model_service.h"
#include "lm/tests/test_util.h"
#include "service.h"
#include "test_support.h"

namespace engram::server {
namespace {

using json = nlohmann::json;
using testing::make_request;
using testing::TempDir;

const std::vector<std::string> kNotes = {"It is a truth universally acknowledged", "that a single man",
                                         "must be in want of a wife", "Elizabeth walked on alone"};

// lm/tests' tiny model (2 layers, width 32, memory in the last block reading k = 8 slots) with 32
// positions; the weights moved off their initialisation so that different text makes clearly
// different queries.
std::string make_tiny_model(const std::string& dir) {
  torch::manual_seed(14);
  std::vector<std::string> texts;
  for (const auto& d : lm::read_documents({lm::testing::testdata("austen-sample.txt")})) texts.push_back(d.text);
  lm::Tokenizer::train(texts, 120, dir + "/tok.model", 1);
  lm::Tokenizer tok = lm::Tokenizer::load(dir + "/tok.model");
  lm::ModelConfig cfg = lm::testing::tiny_config(tok.vocab_size());
  cfg.block_size = 32;  // every note fits (a longer prompt is read from its end)
  cfg.gate_init = 0.2f;
  lm::Gpt model(cfg);
  {
    torch::NoGradGuard ng;
    for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.3);
  }
  const std::string out = dir + "/model";
  lm::save_checkpoint(out, model, nullptr, {1, 1}, tok, "{}");
  return out;
}

class ModelRouteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    model_dir_ = new std::string(make_tiny_model(dir_->path()));
  }
  static void TearDownTestSuite() {
    delete model_dir_;
    delete dir_;
  }

  void SetUp() override {
    ServerOptions o;
    o.token = "secret";
    o.model_dir = *model_dir_;
    o.model = lm::load_model_service(*model_dir_);
    make_service(o, "data-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  }
  void make_service(const ServerOptions& o, const std::string& data) {
    service_.reset();
    service_ = std::make_unique<Service>(Database::open(dir_->sub(data)), o);
  }

  Response send(const std::string& method, const std::string& target, const json& body = nullptr,
                const std::string& token = "secret") {
    Request r = make_request(method, target, body.is_null() ? std::string() : body.dump());
    if (!token.empty()) r.authorization = "Bearer " + token;
    return service_->handle(r);
  }
  json ok(const std::string& method, const std::string& target, const json& body = nullptr) {
    Response r = send(method, target, body);
    EXPECT_TRUE(r.status == 200 || r.status == 201) << method << " " << target << ": " << r.status << " " << r.body;
    return json::parse(r.body);
  }
  static std::string error_code(const Response& r) { return json::parse(r.body)["error"]["code"]; }

  // A memory of the model's width holding kNotes, each under the key the model encodes it to.
  std::vector<std::vector<float>> write_notes() {
    ok("PUT", "/v1/memories/notes", {{"key_dim", 32}, {"value_dim", 32}, {"index", "Flat"}});
    std::vector<std::vector<float>> keys;
    for (const std::string& t : kNotes) keys.push_back(ok("POST", "/v1/model/encode", {{"text", t}})["key"]);
    ok("POST", "/v1/memories/notes/slots", {{"keys", keys}, {"values", keys}, {"payloads", kNotes}});
    return keys;
  }

  static TempDir* dir_;
  static std::string* model_dir_;
  std::unique_ptr<Service> service_;
};
TempDir* ModelRouteTest::dir_ = nullptr;
std::string* ModelRouteTest::model_dir_ = nullptr;

TEST_F(ModelRouteTest, SaysWhatIsLoaded) {
  const json m = ok("GET", "/v1/model");
  EXPECT_EQ(m["dir"], *model_dir_);
  EXPECT_EQ(m["layers"], 2);
  EXPECT_EQ(m["width"], 32);
  EXPECT_EQ(m["block_size"], 32);
  EXPECT_EQ(m["memory_dim"], 32);
  EXPECT_EQ(m["memory_k"], 8);
  EXPECT_EQ(m["read_out"], "attention");
  EXPECT_EQ(send("GET", "/v1/model", nullptr, "").status, 401);  // the API's token
}

TEST_F(ModelRouteTest, EncodeGivesAUnitQueryOfTheModelsWidthThatDependsOnTheText) {
  const json a = ok("POST", "/v1/model/encode", {{"text", kNotes[0]}});
  const json b = ok("POST", "/v1/model/encode", {{"text", kNotes[3]}});
  ASSERT_EQ(a["dim"], 32);
  ASSERT_EQ(a["key"].size(), 32u);
  double norm = 0, dot = 0;
  for (int i = 0; i < 32; ++i) {
    norm += a["key"][i].get<double>() * a["key"][i].get<double>();
    dot += a["key"][i].get<double>() * b["key"][i].get<double>();
  }
  EXPECT_NEAR(norm, 1.0, 1e-4);  // cosine scores: unit-length queries
  EXPECT_LT(dot, 0.99);          // other text, another query
  EXPECT_EQ(ok("POST", "/v1/model/encode", {{"text", kNotes[0]}})["key"], a["key"]);
  // Longer than the model's 32 positions: read from its end.
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "It is a truth universally acknowledged. ";
  EXPECT_EQ(ok("POST", "/v1/model/encode", {{"text", long_text}})["dim"], 32);
}

// The first token's prediction is made at the prompt's last position, whose query is what
// encode answers for the prompt: its reads must be the memory's slots ranked by that query,
// weighted α = softmax(scale · cos) with the model's learned scale.
TEST_F(ModelRouteTest, GenerateReportsTheSlotsEachTokenReadAndTheirWeights) {
  const std::vector<std::vector<float>> keys = write_notes();
  const json g = ok("POST", "/v1/model/generate",
                    {{"prompt", kNotes[2]}, {"max_new_tokens", 4}, {"memory", "notes"}});
  EXPECT_EQ(g["memory"], "notes");
  ASSERT_GE(g["tokens"].size(), 1u);
  ASSERT_LE(g["tokens"].size(), 4u);
  std::string joined;
  for (const json& t : g["tokens"]) {
    joined += t["text"].get<std::string>();
    double sum = 0;
    float last = 2;
    ASSERT_EQ(t["reads"].size(), kNotes.size()) << t;  // k = 8 > 4 slots: every slot read
    for (const json& r : t["reads"]) {
      sum += r["weight"].get<double>();
      EXPECT_LE(r["weight"].get<float>(), last + 1e-6f) << "best first: " << t;
      last = r["weight"];
      EXPECT_EQ(r["payload"], kNotes[r["id"].get<std::size_t>()]);
    }
    EXPECT_NEAR(sum, 1.0, 1e-4);
  }
  EXPECT_EQ(joined, g["text"]);

  const auto lm = lm::LanguageModel::load(*model_dir_);
  ASSERT_LE(lm->tokenizer().encode(kNotes[2]).size(), 32u) << "the prompt must fit the model's positions";
  const float scale = lm->loaded().model->blocks[1]->memory->log_scale.exp().item<float>();
  const std::vector<float>& q = keys[2];
  std::vector<double> e(keys.size());
  double z = 0;
  for (std::size_t j = 0; j < keys.size(); ++j) {
    double cos = 0;
    for (std::size_t i = 0; i < q.size(); ++i) cos += q[i] * keys[j][i];
    z += e[j] = std::exp(scale * cos);
  }
  const json& first = g["tokens"][0]["reads"];
  EXPECT_EQ(first[0]["id"], 2) << "the prompt's own note ranks first: " << first;
  for (const json& r : first)
    EXPECT_NEAR(r["weight"].get<double>(), e[r["id"].get<std::size_t>()] / z, 1e-4) << first;

  // Greedy with the same memory: the same answer.
  EXPECT_EQ(ok("POST", "/v1/model/generate", {{"prompt", kNotes[2]}, {"max_new_tokens", 4}, {"memory", "notes"}}), g);
}

TEST_F(ModelRouteTest, GenerateWithoutAMemoryReadsNothing) {
  const json g = ok("POST", "/v1/model/generate", {{"prompt", "It is"}, {"max_new_tokens", 3}, {"temperature", 0.8}, {"seed", 5}});
  EXPECT_TRUE(g["memory"].is_null());
  ASSERT_FALSE(g["tokens"].empty());
  for (const json& t : g["tokens"]) EXPECT_TRUE(t["reads"].empty()) << t;
}

TEST_F(ModelRouteTest, BadRequestsAreRefusedWithTheUsualErrors) {
  ok("PUT", "/v1/memories/narrow", {{"key_dim", 8}, {"value_dim", 8}});
  ok("POST", "/v1/memories/narrow/slots", {{"keys", {std::vector<float>(8, 0.5f)}}, {"values", {std::vector<float>(8, 0.5f)}}});
  const struct {
    const char* target;
    json body;
    int status;
    const char* code;
  } cases[] = {
      {"/v1/model/generate", json::object(), 400, "bad_request"},                          // no prompt
      {"/v1/model/generate", {{"prompt", 3}}, 400, "bad_request"},                         // not a string
      {"/v1/model/generate", {{"prompt", "a"}, {"max_new_tokens", 0}}, 422, "invalid_argument"},
      {"/v1/model/generate", {{"prompt", "a"}, {"max_new_tokens", 513}}, 422, "invalid_argument"},
      {"/v1/model/generate", {{"prompt", "a"}, {"max_new_tokens", "4"}}, 400, "bad_request"},
      {"/v1/model/generate", {{"prompt", "a"}, {"temperature", -1}}, 422, "invalid_argument"},
      {"/v1/model/generate", {{"prompt", "a"}, {"top_p", 0}}, 422, "invalid_argument"},
      {"/v1/model/generate", {{"prompt", "a"}, {"seed", -1}}, 422, "invalid_argument"},
      {"/v1/model/generate", {{"prompt", "a"}, {"memory", "nope"}}, 404, "not_found"},
      {"/v1/model/generate", {{"prompt", "a"}, {"memory", "narrow"}}, 422, "invalid_argument"},  // 8 wide, not 32
      {"/v1/model/generate", {{"prompt", "a"}, {"steps", 3}}, 400, "bad_request"},       // unknown field
      {"/v1/model/encode", json::object(), 400, "bad_request"},
      {"/v1/model/encode", {{"text", json::array()}}, 400, "bad_request"},
      {"/v1/model/encode", {{"text", ""}}, 422, "invalid_argument"},
  };
  for (const auto& c : cases) {
    const Response r = send("POST", c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.target << " " << c.body << ": " << r.body;
    EXPECT_EQ(error_code(r), c.code) << c.target << " " << c.body;
  }
  Request not_json = make_request("POST", "/v1/model/encode", "{\"text\":", "application/json");
  not_json.authorization = "Bearer secret";
  EXPECT_EQ(service_->handle(not_json).status, 400);
}

TEST_F(ModelRouteTest, WithoutAModelTheRoutesSayHowToLoadOne) {
  ServerOptions charts_only;  // --model DIR with a loss.csv only: no model to run
  charts_only.model_dir = dir_->sub("run");
  std::filesystem::create_directories(charts_only.model_dir);
  std::ofstream(charts_only.model_dir + "/loss.csv") << "step,train_loss\n1,4.0\n";
  make_service(charts_only, "data-charts");
  EXPECT_EQ(send("GET", "/v1/model/loss.csv").status, 200);
  for (const auto& [method, target] : {std::pair<std::string, std::string>{"GET", "/v1/model"},
                                       {"POST", "/v1/model/encode"}, {"POST", "/v1/model/generate"}}) {
    const Response r = send(method, target, method == "POST" ? json{{"text", "a"}} : json(nullptr));
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_NE(r.body.find("holds no model checkpoint"), std::string::npos) << r.body;
  }
  make_service(ServerOptions{}, "data-none");  // no --model at all
  const Response r = send("GET", "/v1/model");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("engram serve --model DIR"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace engram::server
