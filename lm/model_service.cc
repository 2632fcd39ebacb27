// lm/model_service.cc — the LM behind the server's ModelService: encode and generate.
#include "lm/model_service.h"

#include <map>
#include <mutex>

#include "engram/error.h"
#include "engram/memory_interface.h"
#include "lm/checkpoint.h"
#include "lm/generator.h"
#include "lm/language_model.h"

namespace engram::lm {

namespace {

class LmModelService final : public server::ModelService {
 public:
  LmModelService(std::unique_ptr<LanguageModel> lm, std::string dir) : lm_(std::move(lm)), dir_(std::move(dir)) {}

  server::ModelInfo info() const override {
    const ModelConfig& c = lm_->config();
    server::ModelInfo i;
    i.dir = dir_;
    i.vocab_size = c.vocab_size;
    i.layers = c.n_layer;
    i.width = c.d_model;
    i.block_size = c.block_size;
    i.memory_dim = c.has_memory() ? c.mem_dim() : 0;
    i.memory_k = c.has_memory() ? c.memory_k : 0;
    i.knn = c.has_memory() && c.memory_knn;
    i.read_out = !c.has_memory() ? "" : c.memory_knn ? "knn" : "attention";
    return i;
  }

  std::vector<float> encode(const std::string& text) override {
    std::lock_guard<std::mutex> lock(mu_);
    LoadedModel& m = lm_->loaded();
    if (!m.cfg.has_memory()) throw Error(ErrorCode::kInvalidArgument, "encode: the model has no memory layer");
    std::vector<int> ids = m.tokenizer->encode(text);
    if (ids.empty()) throw Error(ErrorCode::kInvalidArgument, "encode: the text is empty");
    // The model knows block_size positions: longer text is read from its end.
    const std::size_t bs = static_cast<std::size_t>(m.cfg.block_size);
    if (ids.size() > bs) ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(bs));
    torch::NoGradGuard no_grad;
    m.model->eval();
    std::vector<int64_t> v(ids.begin(), ids.end());
    auto x = torch::tensor(v, torch::kLong).view({1, -1}).to(m.device);                  // [1, T]
    auto q = m.model->encode_queries(x)[0][-1].to(torch::kCPU, torch::kFloat).contiguous();  // [dk]
    return std::vector<float>(q.data_ptr<float>(), q.data_ptr<float>() + q.numel());
  }

  server::Generation generate(const server::GenerateParams& p, MemoryInterface* memory) override {
    GenerateOptions o;
    o.max_new_tokens = p.max_new_tokens;
    o.temperature = p.temperature;
    o.top_k = p.top_k;
    o.top_p = p.top_p;
    o.seed = p.seed;
    std::lock_guard<std::mutex> lock(mu_);
    const Tokenizer& tok = lm_->tokenizer();
    const std::vector<int> prompt = tok.encode(p.prompt);
    std::vector<std::vector<SlotRead>> reads;
    const std::vector<int> out = generate_ids(*lm_, prompt, o, memory, 0, &reads);
    server::Generation g;
    g.text = continuation_text(tok, prompt, out);
    const std::map<SlotId, std::string> payloads = payloads_of(reads, memory);
    std::string so_far;
    for (std::size_t i = 0; i < out.size(); ++i) {
      // A token's text is what it adds to the decoded continuation (decoded alone, a piece
      // would lose its leading space).
      const std::string upto = continuation_text(tok, prompt, std::vector<int>(out.begin(), out.begin() + i + 1));
      server::GeneratedToken t;
      t.token = out[i];
      t.text = upto.compare(0, so_far.size(), so_far) == 0 ? upto.substr(so_far.size()) : tok.piece(out[i]);
      so_far = upto;
      for (const SlotRead& r : reads[i]) {
        const auto it = payloads.find(r.id);
        t.reads.push_back({r.id, r.weight, it != payloads.end() ? it->second : std::string()});
      }
      g.tokens.push_back(std::move(t));
    }
    return g;
  }

 private:
  // The payloads of every slot read, in one get(). A slot erased since it was read has none.
  static std::map<SlotId, std::string> payloads_of(const std::vector<std::vector<SlotRead>>& reads,
                                                   MemoryInterface* memory) {
    std::map<SlotId, std::string> out;
    for (const auto& step : reads)
      for (const SlotRead& r : step) out.emplace(r.id, std::string());
    if (memory == nullptr || out.empty()) return out;
    std::vector<SlotId> ids;
    for (const auto& [id, _] : out) ids.push_back(id);
    try {
      for (const Slot& s : memory->get(ids)) out[s.id] = s.payload;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kNotFound) throw;
      for (SlotId id : ids) {
        try {
          out[id] = memory->get_one(id).payload;
        } catch (const Error& one) {
          if (one.code() != ErrorCode::kNotFound) throw;
        }
      }
    }
    return out;
  }

  std::mutex mu_;  // one call at a time runs the model (its module remembers the memory it checked)
  std::unique_ptr<LanguageModel> lm_;
  std::string dir_;
};

}  // namespace

std::shared_ptr<server::ModelService> load_model_service(const std::string& dir, const std::string& device) {
  return std::make_shared<LmModelService>(LanguageModel::load(dir, device), dir);
}

}  // namespace engram::lm
