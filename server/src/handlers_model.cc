// handlers_model.cc — the model the server was started with (engram serve --model DIR):
//   GET  /v1/model/loss.csv   the folder's training log, which the console draws as loss curves
//                             (read on each request: a training run appends to it as it goes);
//   GET  /v1/model            what is loaded (engram/model_service.h);
//   POST /v1/model/encode     text → the query vector the model's memory sublayer would make;
//   POST /v1/model/generate   a continuation, with the memory slots each token's prediction read.
// The last three need a loaded model (a folder holding a checkpoint, served by engram-lm):
// without one they answer 404 saying how to start the server with one.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <engram/model_service.h>

#include "body_decoder.h"
#include "errors.h"
#include "json_codec.h"
#include "service.h"

namespace engram::server {

namespace {
// Longest continuation one request may ask for: generation holds the model (one request at a
// time runs it), so a request must not hold it for minutes.
constexpr int kMaxNewTokens = 512;

ModelService& loaded_model(const ServerOptions& options) {
  if (options.model) return *options.model;
  if (options.model_dir.empty())
    throw HttpError(404, "not_found",
                    "no model is loaded: start the server with `engram serve --model DIR` (DIR: a folder "
                    "`engram-lm train --out` wrote)");
  throw HttpError(404, "not_found",
                  "no model is loaded: " + options.model_dir +
                      " holds no model checkpoint (config.json and model.pt), only what the console charts");
}

json encode_info(const ModelInfo& i) {
  return {{"dir", i.dir},           {"vocab_size", i.vocab_size}, {"layers", i.layers},
          {"width", i.width},       {"block_size", i.block_size}, {"memory_dim", i.memory_dim},
          {"memory_k", i.memory_k}, {"read_out", i.read_out}};
}

GenerateParams generate_params(const json& body) {
  GenerateParams p;
  const std::optional<std::string> prompt = get_string(body, "prompt");
  if (!prompt) throw_bad_request("\"prompt\" is required");
  p.prompt = *prompt;
  p.max_new_tokens = get_int(body, "max_new_tokens", p.max_new_tokens);
  if (p.max_new_tokens < 1 || p.max_new_tokens > kMaxNewTokens)
    throw_invalid_argument("\"max_new_tokens\" must be 1.." + std::to_string(kMaxNewTokens));
  p.temperature = get_float(body, "temperature", p.temperature);
  if (!(p.temperature >= 0)) throw_invalid_argument("\"temperature\" must be >= 0 (0: greedy)");
  p.top_k = get_int(body, "top_k", p.top_k);
  if (p.top_k < 0) throw_invalid_argument("\"top_k\" must be >= 0 (0: no cut)");
  p.top_p = get_float(body, "top_p", p.top_p);
  if (!(p.top_p > 0 && p.top_p <= 1)) throw_invalid_argument("\"top_p\" must be in (0, 1]");
  const int seed = get_int(body, "seed", 0);
  if (seed < 0) throw_invalid_argument("\"seed\" must be >= 0");
  p.seed = static_cast<std::uint64_t>(seed);
  return p;
}

json encode_generation(const Generation& g) {
  json tokens = json::array();
  for (const GeneratedToken& t : g.tokens) {
    json reads = json::array();
    for (const TokenRead& r : t.reads) reads.push_back({{"id", r.id}, {"weight", r.weight}, {"payload", r.payload}});
    tokens.push_back({{"token", t.token}, {"text", t.text}, {"reads", std::move(reads)}});
  }
  return {{"text", g.text}, {"tokens", std::move(tokens)}};
}
}  // namespace

void add_model_routes(Router& router, Service& service) {
  const ServerOptions& options = service.options();
  if (!options.model_dir.empty()) {
    router.add("GET", "/v1/model/loss.csv", [dir = options.model_dir](const Request&, const Params&) {
      const std::filesystem::path path = std::filesystem::path(dir) / "loss.csv";
      std::ifstream in(path, std::ios::binary);
      if (!in) throw HttpError(404, "not_found", "the model folder has no loss.csv (" + path.string() + ")");
      std::ostringstream text;
      text << in.rdbuf();
      Response res;
      res.content_type = "text/csv; charset=utf-8";
      res.body = text.str();
      return res;
    });
  }

  router.add("GET", "/v1/model", [&options](const Request&, const Params&) {
    return json_response(encode_info(loaded_model(options).info()));
  });

  router.add("POST", "/v1/model/encode", [&service](const Request& req, const Params&) {
    ModelService& model = loaded_model(service.options());
    const Fields fields = service.decode(req, {Field::scalar("text")});
    const std::optional<std::string> text = get_string(fields.scalars, "text");
    if (!text) throw_bad_request("\"text\" is required");
    const std::vector<float> key = model.encode(*text);
    return json_response({{"dim", key.size()}, {"key", key}});
  });

  router.add("POST", "/v1/model/generate", [&service](const Request& req, const Params&) {
    ModelService& model = loaded_model(service.options());
    const Fields fields = service.decode(
        req, {Field::scalar("prompt"), Field::scalar("max_new_tokens"), Field::scalar("temperature"),
              Field::scalar("top_k"), Field::scalar("top_p"), Field::scalar("seed"), Field::scalar("memory")});
    const json& body = fields.scalars;
    const GenerateParams params = generate_params(body);
    const std::optional<std::string> name = get_string(body, "memory");
    std::shared_ptr<Memory> memory = name ? service.memory(*name) : nullptr;  // 404 for an unknown one
    json out = encode_generation(model.generate(params, memory.get()));
    out["memory"] = name ? json(*name) : json(nullptr);
    return json_response(out);
  });
}

}  // namespace engram::server
