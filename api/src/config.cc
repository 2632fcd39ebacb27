#include "engram/config.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "engram/error.h"

namespace engram {
namespace {

Error invalid(const std::string& msg) { return Error(ErrorCode::kInvalidArgument, msg); }

}  // namespace

const char* metric_name(Metric m) { return m == Metric::kL2 ? "l2" : "ip"; }

Metric parse_metric(const std::string& name) {
  if (name == "ip" || name == "inner_product") return Metric::kInnerProduct;
  if (name == "l2" || name == "L2") return Metric::kL2;
  throw invalid("metric must be \"ip\" or \"l2\", not \"" + name + "\"");
}

void validate(const MemoryConfig& c) {
  if (c.key_dim < 1 || c.key_dim > 65536) throw invalid("key_dim must be in 1..65536, got " + std::to_string(c.key_dim));
  if (c.value_dim < 1 || c.value_dim > 65536) throw invalid("value_dim must be in 1..65536, got " + std::to_string(c.value_dim));
  if (c.index.empty()) throw invalid("index must be a FAISS factory string such as \"Flat\" or \"HNSW32\"");
  if (c.default_k < 1 || c.default_k > kMaxK) throw invalid("default_k must be in 1.." + std::to_string(kMaxK) + ", got " + std::to_string(c.default_k));
  if (!(c.temperature > 0) || !std::isfinite(c.temperature)) throw invalid("temperature must be a finite number > 0");
  if (!std::isfinite(c.gate_bias)) throw invalid("gate_bias must be finite");
  if (c.device != "cpu" && c.device != "gpu") throw invalid("device must be \"cpu\" or \"gpu\"");
  if (c.ef_construction < 0 || c.ef_construction > 65536)
    throw invalid("ef_construction must be in 0..65536, got " + std::to_string(c.ef_construction));
}

std::string config_to_json(const MemoryConfig& c) {
  nlohmann::json j = {{"key_dim", c.key_dim},         {"value_dim", c.value_dim},
                      {"metric", metric_name(c.metric)}, {"index", c.index},
                      {"search_params", c.search_params}, {"ef_construction", c.ef_construction},
                      {"default_k", c.default_k},
                      {"temperature", c.temperature}, {"gate_bias", c.gate_bias},
                      {"sync", c.sync},               {"cache_values", c.cache_values},
                      {"device", c.device}};
  return j.dump();
}

MemoryConfig config_from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw invalid(std::string("config is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw invalid("config must be a JSON object");
  if (!j.contains("key_dim") || !j.contains("value_dim")) throw invalid("config needs key_dim and value_dim");
  MemoryConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& f = it.key();
    const nlohmann::json& v = it.value();
    auto need = [&](bool ok, const char* type) {
      if (!ok) throw invalid("config field " + f + " must be " + type);
    };
    if (f == "key_dim" || f == "value_dim" || f == "default_k" || f == "ef_construction") {
      need(v.is_number_integer(), "an integer");
      const auto n = v.get<long long>();
      need(n >= -1000000 && n <= 1000000, "an integer in range");
      (f == "key_dim" ? c.key_dim : f == "value_dim" ? c.value_dim : f == "default_k" ? c.default_k : c.ef_construction) =
          static_cast<int>(n);
    } else if (f == "temperature" || f == "gate_bias") {
      need(v.is_number(), "a number");
      (f == "temperature" ? c.temperature : c.gate_bias) = v.get<float>();
    } else if (f == "metric") {
      need(v.is_string(), "a string");
      c.metric = parse_metric(v.get<std::string>());
    } else if (f == "index" || f == "search_params" || f == "device") {
      need(v.is_string(), "a string");
      (f == "index" ? c.index : f == "search_params" ? c.search_params : c.device) = v.get<std::string>();
    } else if (f == "sync" || f == "cache_values") {
      need(v.is_boolean(), "true or false");
      (f == "sync" ? c.sync : c.cache_values) = v.get<bool>();
    } else {
      throw invalid("unknown config field " + f);
    }
  }
  validate(c);
  return c;
}

}  // namespace engram
