#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace engram {
namespace {

TEST(ConfigTest, JsonRoundTripKeepsEveryField) {
  MemoryConfig c;
  c.key_dim = 64;
  c.value_dim = 32;
  c.metric = Metric::kL2;
  c.index = "IVF64,PQ8";
  c.search_params = "nprobe=4";
  c.ef_construction = 123;
  c.default_k = 7;
  c.temperature = 0.25f;
  c.gate_bias = -1.5f;
  c.sync = false;
  c.cache_values = false;
  MemoryConfig back = config_from_json(config_to_json(c));
  EXPECT_EQ(back.key_dim, 64);
  EXPECT_EQ(back.value_dim, 32);
  EXPECT_EQ(back.metric, Metric::kL2);
  EXPECT_EQ(back.index, "IVF64,PQ8");
  EXPECT_EQ(back.search_params, "nprobe=4");
  EXPECT_EQ(back.ef_construction, 123);
  EXPECT_EQ(back.default_k, 7);
  EXPECT_FLOAT_EQ(back.temperature, 0.25f);
  EXPECT_FLOAT_EQ(back.gate_bias, -1.5f);
  EXPECT_FALSE(back.sync);
  EXPECT_FALSE(back.cache_values);
}

TEST(ConfigTest, RejectsMalformedOrOutOfRangeConfigsWithTheFieldNamed) {
  auto code_of = [](const std::string& json) -> std::string {
    try {
      config_from_json(json);
      return "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      return e.what();
    }
  };
  EXPECT_NE(code_of("{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(code_of("[1]").find("object"), std::string::npos);
  EXPECT_NE(code_of(R"({"key_dim":8})").find("value_dim"), std::string::npos);
  EXPECT_NE(code_of(R"({"key_dim":"8","value_dim":8})").find("key_dim"), std::string::npos);
  EXPECT_NE(code_of(R"({"key_dim":0,"value_dim":8})").find("key_dim"), std::string::npos);
  EXPECT_NE(code_of(R"({"key_dim":8,"value_dim":8,"metric":"cosine"})").find("metric"), std::string::npos);
  EXPECT_NE(code_of(R"({"key_dim":8,"value_dim":8,"temperature":0})").find("temperature"), std::string::npos);
  EXPECT_NE(code_of(R"({"key_dim":8,"value_dim":8,"default_k":5000})").find("default_k"), std::string::npos);
  EXPECT_NE(code_of(R"({"key_dim":8,"value_dim":8,"colour":"red"})").find("colour"), std::string::npos);
  EXPECT_NE(code_of(R"({"key_dim":8,"value_dim":8,"ef_construction":-1})").find("ef_construction"), std::string::npos);
  EXPECT_NE(code_of(R"({"key_dim":8,"value_dim":8,"ef_construction":70000})").find("ef_construction"), std::string::npos);
  EXPECT_EQ(code_of(R"({"key_dim":8,"value_dim":8})"), "accepted");
}

TEST(ConfigTest, MatrixViewRejectsARaggedVector) {
  std::vector<float> v(10);
  EXPECT_THROW(MatrixView(v, 3), Error);
  EXPECT_THROW(MatrixView(v, 0), Error);
  EXPECT_EQ(MatrixView(v, 5).rows, 2u);
}

}  // namespace
}  // namespace engram
