// lm/checkpoint.cc — checkpoint I/O.
#include "lm/checkpoint.h"

#include <torch/serialize.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engram/error.h"

namespace engram::lm {

namespace fs = std::filesystem;

namespace {
void write_text(const fs::path& p, const std::string& s) {
  const fs::path tmp = p.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << s;
    if (!out) throw Error(ErrorCode::kIOError, "cannot write " + tmp.string());
  }
  fs::rename(tmp, p);
}
std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, "checkpoint: missing " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

void save_checkpoint(const std::string& dir, Gpt& model, torch::optim::Optimizer* optimizer,
                     const TrainState& state, const Tokenizer& tokenizer,
                     const std::string& options_json) {
  fs::create_directories(dir);
  const fs::path d(dir);
  // Parameters are saved from the CPU so that a checkpoint loads on any device.
  {
    Gpt cpu_copy(model->cfg);
    {
      torch::NoGradGuard no_grad;
      auto src = model->named_parameters();
      auto dst = cpu_copy->named_parameters();
      for (auto& p : src) dst[p.key()].copy_(p.value().detach().to(torch::kCPU));
    }
    torch::save(cpu_copy, (d / "model.pt.tmp").string());
    fs::rename(d / "model.pt.tmp", d / "model.pt");
  }
  if (optimizer != nullptr) {
    torch::save(*optimizer, (d / "optimizer.pt.tmp").string());
    fs::rename(d / "optimizer.pt.tmp", d / "optimizer.pt");
  }
  const fs::path tok_dst = d / "tokenizer.model";
  if (fs::absolute(tokenizer.model_path()) != fs::absolute(tok_dst))
    write_text(tok_dst, read_text(tokenizer.model_path()));
  nlohmann::json j;
  j["model"] = nlohmann::json::parse(model_config_to_json(model->cfg));
  j["step"] = state.step;
  j["tokens"] = state.tokens;
  j["train_options"] = options_json.empty() ? nlohmann::json::object() : nlohmann::json::parse(options_json);
  write_text(d / "config.json", j.dump(2));
}

LoadedModel load_checkpoint(const std::string& dir, c10::Device device) {
  const fs::path d(dir);
  if (!fs::is_directory(d)) throw Error(ErrorCode::kNotFound, "no model directory at " + dir);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text(d / "config.json"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kCorruption, "checkpoint: bad config.json in " + dir + ": " + e.what());
  }
  LoadedModel m;
  m.cfg = model_config_from_json(j.at("model").dump());
  m.state.step = j.value("step", int64_t{0});
  m.state.tokens = j.value("tokens", int64_t{0});
  m.options_json = j.contains("train_options") ? j["train_options"].dump() : "{}";
  m.tokenizer = std::make_unique<Tokenizer>(Tokenizer::load((d / "tokenizer.model").string()));
  if (m.tokenizer->vocab_size() != m.cfg.vocab_size)
    throw Error(ErrorCode::kCorruption, "checkpoint: tokenizer has " +
                                            std::to_string(m.tokenizer->vocab_size()) +
                                            " pieces but the model expects " +
                                            std::to_string(m.cfg.vocab_size));
  if (!fs::exists(d / "model.pt")) throw Error(ErrorCode::kNotFound, "checkpoint: missing " + (d / "model.pt").string());
  if (m.cfg.read_passages > 0) {
    m.passage_keys = std::make_shared<LexicalKeys>(LexicalKeys::load((d / "passage_keys.tsv").string()));
    if (fs::exists(d / "word_families.tsv"))
      m.passage_keys->use_families(
          std::make_shared<WordFamilies>(WordFamilies::load((d / "word_families.tsv").string())));
  }
  m.model = Gpt(m.cfg);
  try {
    torch::load(m.model, (d / "model.pt").string());
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::kCorruption, "checkpoint: cannot read " + (d / "model.pt").string() +
                                            ": " + e.what_without_backtrace());
  }
  m.model->to(device);
  m.model->eval();
  m.device = device;
  return m;
}

void update_model_config(const std::string& dir, const ModelConfig& cfg) {
  validate(cfg);
  const fs::path p = fs::path(dir) / "config.json";
  nlohmann::json j = nlohmann::json::parse(read_text(p));
  j["model"] = nlohmann::json::parse(model_config_to_json(cfg));
  write_text(p, j.dump(2));
}

bool load_optimizer(const std::string& dir, torch::optim::Optimizer& optimizer) {
  const fs::path p = fs::path(dir) / "optimizer.pt";
  if (!fs::exists(p)) return false;
  torch::load(optimizer, p.string());
  return true;
}

}  // namespace engram::lm
