// lm/model_config.cc — validation and the JSON form of ModelConfig.
#include "lm/model_config.h"

#include <nlohmann/json.hpp>

#include "engram/error.h"

namespace engram::lm {

namespace {
void require(bool ok, const std::string& what) {
  if (!ok) throw Error(ErrorCode::kInvalidArgument, "model config: " + what);
}
}  // namespace

void validate(const ModelConfig& c) {
  require(c.vocab_size >= 8, "vocab_size must be >= 8");
  require(c.block_size >= 2, "block_size must be >= 2");
  require(c.n_layer >= 1, "n_layer must be >= 1");
  require(c.n_head >= 1 && c.d_model % c.n_head == 0, "d_model must be a multiple of n_head");
  require(c.d_model >= 2, "d_model must be >= 2");
  require(c.dropout >= 0.0f && c.dropout < 1.0f, "dropout must be in [0, 1)");
  require(c.memory_layer >= -1 && c.memory_layer < c.n_layer,
          "memory_layer must be -1 (none) or a block index below n_layer");
  require(c.memory_dim >= 0, "memory_dim must be >= 0");
  require(c.memory_k >= 1 && c.memory_k <= 4096, "memory_k must be in 1..4096");
  require(!c.memory_knn || c.memory_shift_values, "memory_knn needs memory_shift_values");
  require(c.readout.scale >= 0.0f && c.readout.lambda_slope >= 0.0f, "knn_scale and knn_lambda_slope must be >= 0");
  require(c.readout.lambda_max >= 0.0f && c.readout.lambda_max <= 1.0f, "knn_lambda_max must be in [0, 1]");
  require(c.read_passages >= 0 && c.read_passages <= 16, "read_passages must be in 0..16");
  require(c.copy_match >= 1 && c.copy_match <= 64, "copy_match must be in 1..64");
  require(!c.knn_key_hidden || c.mem_dim() == c.d_model, "knn_key_hidden needs memory_dim = d_model");
  require(c.readout.exact_cos <= 0.0f || (c.readout.exact_scale > 0.0f && c.readout.exact_lambda >= 0.0f && c.readout.exact_lambda <= 1.0f),
          "knn_exact_cos needs knn_exact_scale > 0 and knn_exact_lambda in [0, 1]");
}

std::string model_config_to_json(const ModelConfig& c) {
  nlohmann::json j = {
      {"vocab_size", c.vocab_size},       {"block_size", c.block_size},
      {"n_layer", c.n_layer},             {"n_head", c.n_head},
      {"d_model", c.d_model},             {"d_ff", c.d_ff},
      {"dropout", c.dropout},             {"memory_layer", c.memory_layer},
      {"memory_dim", c.memory_dim},       {"memory_k", c.memory_k},
      {"memory_cosine", c.memory_cosine}, {"memory_scale_init", c.memory_scale_init},
      {"gate_init", c.gate_init},         {"tie_memory_qk", c.tie_memory_qk},
      {"memory_shift_values", c.memory_shift_values}, {"memory_knn", c.memory_knn},
      {"knn_scale", c.readout.scale},         {"knn_lambda_slope", c.readout.lambda_slope},
      {"knn_lambda_center", c.readout.lambda_center}, {"knn_lambda_max", c.readout.lambda_max},
      {"knn_exact_cos", c.readout.exact_cos}, {"knn_exact_scale", c.readout.exact_scale},
      {"knn_exact_lambda", c.readout.exact_lambda}, {"knn_key_hidden", c.knn_key_hidden},
      {"read_passages", c.read_passages}, {"copy_head", c.copy_head},
      {"copy_match", c.copy_match}};
  return j.dump(2);
}

ModelConfig model_config_from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kInvalidArgument, std::string("model config: bad JSON: ") + e.what());
  }
  ModelConfig c;
  auto get = [&](const char* key, auto& field) {
    if (j.contains(key)) j.at(key).get_to(field);
  };
  try {
    get("vocab_size", c.vocab_size);
    get("block_size", c.block_size);
    get("n_layer", c.n_layer);
    get("n_head", c.n_head);
    get("d_model", c.d_model);
    get("d_ff", c.d_ff);
    get("dropout", c.dropout);
    get("memory_layer", c.memory_layer);
    get("memory_dim", c.memory_dim);
    get("memory_k", c.memory_k);
    get("memory_cosine", c.memory_cosine);
    get("memory_scale_init", c.memory_scale_init);
    get("gate_init", c.gate_init);
    get("tie_memory_qk", c.tie_memory_qk);
    get("memory_shift_values", c.memory_shift_values);
    get("memory_knn", c.memory_knn);
    get("knn_scale", c.readout.scale);
    get("knn_lambda_slope", c.readout.lambda_slope);
    get("knn_lambda_center", c.readout.lambda_center);
    get("knn_lambda_max", c.readout.lambda_max);
    get("knn_exact_cos", c.readout.exact_cos);
    get("knn_exact_scale", c.readout.exact_scale);
    get("knn_exact_lambda", c.readout.exact_lambda);
    get("knn_key_hidden", c.knn_key_hidden);
    get("read_passages", c.read_passages);
    get("copy_head", c.copy_head);
    get("copy_match", c.copy_match);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kInvalidArgument, std::string("model config: ") + e.what());
  }
  validate(c);
  return c;
}

}  // namespace engram::lm
