// lm/trainer.cc — the training loop: tokenizer, episodes, AdamW with warmup + cosine,
// validation, checkpoints with resume, loss.csv and loss.png.
#include "lm/trainer.h"

#include <torch/optim/adamw.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <unistd.h>

#include "engram/database.h"
#include "engram/error.h"
#include "ingest/progress.h"
#include "lm/checkpoint.h"
#include "lm/corpus.h"
#include "lm/device.h"
#include "lm/loss_plot.h"
#include "lm/lr_schedule.h"
#include "lm/memory_store.h"
#include "lm/passages.h"
#include "lm/qa_drills.h"
#include "lm/segment_runner.h"

namespace engram::lm {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string train_options_to_json(const TrainOptions& o) {
  nlohmann::json j = {{"inputs", o.inputs},
                      {"valid", o.valid},
                      {"vocab_size", o.vocab_size},
                      {"steps", o.steps},
                      {"batch", o.batch},
                      {"segments", o.segments},
                      {"lr", o.lr},
                      {"min_lr", o.min_lr},
                      {"warmup", o.warmup},
                      {"weight_decay", o.weight_decay},
                      {"clip", o.clip},
                      {"use_memory", o.use_memory},
                      {"memory_mode", o.memory_mode},
                      {"memory_window", o.memory_window},
                      {"drill_facts", o.drill_facts},
                      {"drill_ratio", o.drill_ratio},
                      {"drill_knowledge_segments", o.drill_knowledge_segments},
                      {"rephrase_prob", o.rephrase_prob},
                      {"reader_ratio", o.reader_ratio},
                      {"reader_facts", o.reader_facts},
                      {"read_passages", o.read_passages},
                      {"copy_match", o.copy_match},
                      {"seed", o.seed}};
  return j.dump();
}

namespace {

// AdamW with weight decay on matrices only (not on biases, norms, embeddings' positions, gate).
torch::optim::AdamW make_optimizer(Gpt& model, double lr, double wd) {
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& p : model->named_parameters()) {
    const bool matrix = p.value().dim() >= 2 && p.key().find("wpe") == std::string::npos;
    (matrix ? decay : no_decay).push_back(p.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(lr).betas({0.9, 0.95}).weight_decay(wd)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(lr).betas({0.9, 0.95}).weight_decay(0.0)));
  return torch::optim::AdamW(std::move(groups));
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

// Rows of equal length → [B, L] int64.
torch::Tensor to_tensor(const std::vector<std::vector<int>>& rows, c10::Device dev) {
  const int64_t B = rows.size(), L = rows[0].size();
  auto t = torch::empty({B, L}, torch::kLong);  // [B, L]
  auto a = t.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < L; ++i) a[b][i] = rows[b][i];
  return t.to(dev);
}

struct EpisodeSource {
  std::vector<std::vector<int>> prose;
  std::vector<Fact> facts;
  std::vector<Sentence> sentences;
  const Tokenizer* tok = nullptr;
  const ReaderDrills* reader = nullptr;
  int segments = 0, seg_len = 0, knowledge = 0;
  double drill_ratio = 0, rephrase = 0, reader_ratio = 0;

  // Rows of episodes; `prefix` [B][segments]: the bidirectional prefix of each row's segment
  // (reader drills), 0 elsewhere.
  std::vector<std::vector<int>> batch(int B, std::mt19937_64& rng, std::vector<std::vector<int>>* prefix) const {
    std::vector<std::vector<int>> rows;
    prefix->assign(B, std::vector<int>(segments, 0));
    std::uniform_real_distribution<double> u(0, 1);
    for (int b = 0; b < B; ++b) {
      if (reader != nullptr && u(rng) < reader_ratio) {
        rows.push_back(reader->episode(*tok, rng, segments, seg_len, &(*prefix)[b]));
        continue;
      }
      const bool drill = !facts.empty() && (prose.empty() || u(rng) < drill_ratio);
      if (drill)
        rows.push_back(drill_episode(*tok, facts, sentences, rng, segments, seg_len, knowledge, rephrase));
      else
        rows.push_back(prose[std::uniform_int_distribution<std::size_t>(0, prose.size() - 1)(rng)]);
    }
    return rows;
  }
};

// Segment s of a batch: inputs x [B, T], targets y [B, T] (−1 inside a prefix, where the next
// token is visible), and the prefix lengths [B] (undefined when no row has one).
struct SegmentBatch {
  torch::Tensor x, y, prefix;
};
SegmentBatch segment_of(const torch::Tensor& tokens, const std::vector<std::vector<int>>& prefix, int s, int T,
                        c10::Device dev) {
  SegmentBatch b;
  b.x = tokens.narrow(1, s * T, T);
  b.y = tokens.narrow(1, s * T + 1, T).clone();
  std::vector<int64_t> p(prefix.size());
  bool any = false;
  for (std::size_t r = 0; r < prefix.size(); ++r) {
    p[r] = prefix[r][s];
    if (p[r] > 1) b.y[static_cast<int64_t>(r)].narrow(0, 0, p[r] - 1).fill_(-1);
    any = any || p[r] > 0;
  }
  if (any) b.prefix = torch::tensor(p, torch::kLong).to(dev);
  return b;
}

// Mean loss over episode batches, with the memory updated segment by segment (or without).
double evaluate(Gpt& model, const EpisodeSource& src, int batches, int B, int S, int T,
                MemoryInterface* memory, c10::Device dev, uint64_t seed) {
  SegmentRunner runner(model, memory);
  std::mt19937_64 rng(seed);
  double total = 0;
  int n = 0;
  for (int i = 0; i < batches; ++i) {
    std::vector<std::vector<int>> prefix;
    auto tokens = to_tensor(src.batch(B, rng, &prefix), dev);  // [B, S·T+1]
    runner.clear();
    for (int s = 0; s < S; ++s) {
      const SegmentBatch sb = segment_of(tokens, prefix, s, T, dev);
      total += runner.run(sb.x, sb.y, nullptr, 0, sb.prefix);
      ++n;
    }
  }
  runner.clear();
  return n ? total / n : std::nan("");
}

void plot(const std::string& out) {
  // loss.csv → loss.png: training loss (smoothed), validation loss with and without memory.
  std::ifstream in(out + "/loss.csv");
  std::string line;
  std::getline(in, line);
  PlotSeries train{"train (with memory)", 0x1f77b4, {}, {}}, val{"validation (with memory)", 0xd62728, {}, {}},
      nomem{"validation (without memory)", 0x2ca02c, {}, {}};
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::size_t p = 0, q;
    while ((q = line.find(',', p)) != std::string::npos) { f.push_back(line.substr(p, q - p)); p = q + 1; }
    f.push_back(line.substr(p));
    if (f.size() < 6) continue;
    const double step = std::atof(f[0].c_str());
    if (!f[3].empty()) { train.x.push_back(step); train.y.push_back(std::atof(f[3].c_str())); }
    if (!f[4].empty()) { val.x.push_back(step); val.y.push_back(std::atof(f[4].c_str())); }
    if (!f[5].empty()) { nomem.x.push_back(step); nomem.y.push_back(std::atof(f[5].c_str())); }
  }
  // The run's name is its folder's.
  const std::string run = fs::path(out).lexically_normal().filename().string();
  write_plot_png(out + "/loss.png", {train, val, nomem},
                 {"loss of " + (run.empty() ? out : run), "step", "cross-entropy (nats/token)"}, 800, 500);
}

}  // namespace

namespace {

void check_options(const TrainOptions& o) {
  if (o.out.empty()) throw Error(ErrorCode::kInvalidArgument, "train: an output directory is needed");
  if (o.batch < 1 || o.segments < 1 || o.steps < 1)
    throw Error(ErrorCode::kInvalidArgument, "train: batch, segments and steps must be >= 1");
  if (o.memory_mode != "document" && o.memory_mode != "window")
    throw Error(ErrorCode::kInvalidArgument, "train: memory mode must be 'document' or 'window'");
  if (o.reader_ratio < 0 || o.reader_ratio > 1)
    throw Error(ErrorCode::kInvalidArgument, "train: reader ratio must be in [0, 1]");
}

// Everything read from the input files, before anything is trained: bad input fails first.
struct TrainingText {
  std::vector<Document> docs;
  std::vector<Fact> drill_facts;          // recall drills (token memory)
  std::vector<Sentence> sentences;        // prose mixed into drills
  std::unique_ptr<ReaderDrills> reader;   // reader drills (passages), when asked for
};

TrainingText read_training_text(const TrainOptions& o) {
  TrainingText t;
  t.docs = read_documents(o.inputs);
  if (!o.drill_facts.empty()) t.drill_facts = read_facts(o.drill_facts);
  for (const auto& d : t.docs) {
    for (auto& s : split_sentences(d))
      if (s.text.size() < 400) t.sentences.push_back(std::move(s));
    if (t.sentences.size() > 50000) break;
  }
  if (o.reader_ratio > 0)
    t.reader = std::make_unique<ReaderDrills>(
        o.reader_facts.empty() ? std::vector<Triple>{} : read_triples(o.reader_facts), t.sentences, o.read_passages);
  return t;
}

// A fresh model: the tokenizer trained on the text (and drill statements), the passage keys of
// a reading model, the decoder initialised.
LoadedModel new_model(const TrainOptions& o, const TrainingText& text, c10::Device dev) {
  std::vector<std::string> texts;
  for (const auto& d : text.docs) texts.push_back(d.text);
  // Drill sentences are part of the training text: years become tokenizer pieces.
  for (const auto& f : text.drill_facts) texts.push_back(f.prompt + " " + f.answer + ".");
  // Reader drills' statements too: their names and codes are what questions are about.
  if (text.reader) {
    std::mt19937_64 trng(o.seed + 11);
    for (auto& s : text.reader->sample_statements(trng, 20000)) texts.push_back(std::move(s));
  }
  LoadedModel lm;
  const std::string tok_path = o.out + "/tokenizer.model";
  Tokenizer::train(texts, o.vocab_size, tok_path, o.threads);
  lm.tokenizer = std::make_unique<Tokenizer>(Tokenizer::load(tok_path));
  lm.cfg = o.model;
  lm.cfg.vocab_size = lm.tokenizer->vocab_size();
  if (text.reader) {
    // The passage memory's keys: document frequencies of the training text's passages.
    std::vector<std::string> units;
    for (const auto& d : text.docs)
      for (auto& p : passage_units(d)) units.push_back(std::move(p));
    LexicalKeys::build(units).save(o.out + "/passage_keys.tsv");
    if (!o.word_families.empty())  // loaded first: a malformed table fails before training starts
      WordFamilies::load(o.word_families).save(o.out + "/word_families.tsv");
    lm.cfg.read_passages = o.read_passages;
    lm.cfg.copy_head = true;
    lm.cfg.copy_match = o.copy_match;
  }
  lm.model = Gpt(lm.cfg);
  lm.model->to(dev);
  return lm;
}

// Where training and validation episodes come from.
std::pair<EpisodeSource, std::optional<EpisodeSource>> episode_sources(const TrainOptions& o, TrainingText& text,
                                                                        const LoadedModel& lm) {
  const int T = lm.cfg.block_size, S = o.segments;
  EpisodeSource src;
  src.tok = lm.tokenizer.get();
  src.segments = S;
  src.seg_len = T;
  src.knowledge = o.drill_knowledge_segments > 0 ? o.drill_knowledge_segments : std::max(1, S / 2);
  src.drill_ratio = o.drill_ratio;
  src.rephrase = o.rephrase_prob;
  src.prose = prose_episodes(*lm.tokenizer, text.docs, S, T);
  src.facts = text.drill_facts;
  src.sentences = text.sentences;
  src.reader = text.reader.get();
  src.reader_ratio = o.reader_ratio;
  if (src.prose.empty() && src.facts.empty() && !src.reader)
    throw Error(ErrorCode::kInvalidArgument,
                "train: the corpus is too short for one episode of " + std::to_string(S) + " × " +
                    std::to_string(T) + " tokens; use fewer segments or a smaller block size");
  if (src.prose.empty() && !src.reader) src.drill_ratio = 1.0;
  if (src.prose.empty() && src.facts.empty()) src.reader_ratio = 1.0;
  std::optional<EpisodeSource> val;
  if (!o.valid.empty()) {
    EpisodeSource v = src;
    v.prose = prose_episodes(*lm.tokenizer, read_documents(o.valid), S, T);
    if (v.prose.empty()) v.drill_ratio = 1.0;
    if (!v.prose.empty() || !v.facts.empty()) val = std::move(v);
  }
  return {std::move(src), std::move(val)};
}

// The training memory: a real engram database inside the model directory, rebuilt each run.
struct TrainingMemory {
  std::unique_ptr<Database> db;
  std::shared_ptr<Memory> train, valid;
};

TrainingMemory open_training_memory(const TrainOptions& o, const ModelConfig& cfg) {
  TrainingMemory m;
  if (!o.use_memory || !cfg.has_memory()) return m;
  const std::string db_dir = o.out + "/train-memory";
  fs::remove_all(db_dir);
  m.db = Database::open(db_dir);
  m.train = open_model_memory(*m.db, "train", cfg, true);
  m.valid = open_model_memory(*m.db, "valid", cfg, true);
  return m;
}

// loss.csv (appended to when resuming), the progress on stderr (a bar with rate and ETA on a
// terminal, a line per 10 % otherwise, and the interval's line each --log-every steps), loss.png.
class LossLog {
 public:
  LossLog(const TrainOptions& o, bool resuming, int64_t first_step)
      : o_(o), start_(Clock::now()), first_step_(first_step),
        progress_(o.quiet ? ingest::Progress::Mode::kQuiet : ingest::Progress::Mode::kAuto,
                  static_cast<std::uint64_t>(std::max<int64_t>(0, o.steps - first_step)), 0, stderr, 5.0,
                  {"train", "steps", 10}) {
    const std::string path = o.out + "/loss.csv";
    const bool fresh = !resuming || !fs::exists(path);
    csv_.open(path, fresh ? std::ios::trunc : std::ios::app);
    if (fresh) csv_ << "step,tokens,lr,train_loss,val_loss,val_loss_nomem,tokens_per_s\n";
  }
  void add(double loss, int64_t tokens, int64_t step) {
    loss_ += loss;
    ++n_;
    tokens_ += tokens;
    char note[48];
    std::snprintf(note, sizeof note, "loss %.4f", loss);
    progress_.update(static_cast<std::uint64_t>(step - first_step_), 0, note);
  }
  // Writes the interval's line; returns its mean training loss.
  double write(const TrainState& st, double lr, const std::string& val, const std::string& val_nomem,
               std::size_t slots) {
    const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
    const double tps = tokens_ / std::max(secs, 1e-9);
    const double mean = loss_ / std::max(n_, 1);
    csv_ << st.step << ',' << st.tokens << ',' << lr << ',' << mean << ',' << val << ',' << val_nomem << ',' << tps
         << '\n';
    csv_.flush();
    if (!o_.quiet) {
      std::ostringstream line;
      line << "step " << st.step << "/" << o_.steps << "  loss " << mean << "  lr " << lr << "  "
           << static_cast<int64_t>(tps) << " tok/s";
      if (!val.empty()) line << "  val " << val << (val_nomem.empty() ? "" : "  val(no memory) " + val_nomem);
      line << "  slots " << slots;
      progress_.print_line(line.str());
    }
    if (!val.empty()) plot(o_.out);
    loss_ = 0;
    n_ = 0;
    tokens_ = 0;
    start_ = Clock::now();
    return mean;
  }
  void close() {
    progress_.finish();
    csv_.close();
    plot(o_.out);
  }

 private:
  const TrainOptions& o_;
  std::ofstream csv_;
  double loss_ = 0;
  int n_ = 0;
  int64_t tokens_ = 0;
  Clock::time_point start_;
  int64_t first_step_;
  ingest::Progress progress_;
};

}  // namespace

TrainReport train(const TrainOptions& o) {
  check_options(o);
  set_threads(o.threads);
  const c10::Device dev = parse_device(o.device);
  fs::create_directories(o.out);
  torch::manual_seed(o.seed);

  TrainingText text = read_training_text(o);
  const bool resuming = o.resume && fs::exists(o.out + "/config.json");
  LoadedModel lm = resuming ? load_checkpoint(o.out, dev) : new_model(o, text, dev);
  Gpt model = lm.model;
  const int T = lm.cfg.block_size, S = o.segments, B = o.batch;
  auto [train_src, val_src] = episode_sources(o, text, lm);
  auto opt = make_optimizer(model, o.lr, o.weight_decay);
  if (resuming) load_optimizer(o.out, opt);
  TrainState state = lm.state;
  TrainingMemory memory = open_training_memory(o, lm.cfg);
  SegmentRunner runner(model, memory.train.get());
  LossLog log(o, resuming, lm.state.step);
  auto checkpoint = [&] { save_checkpoint(o.out, model, &opt, state, *lm.tokenizer, train_options_to_json(o)); };

  TrainReport rep;
  rep.val_loss = rep.val_loss_nomem = std::nan("");
  double seconds_total = 0;
  int64_t tokens_total = 0;
  while (state.step < o.steps) {
    // One batch of episodes, its segments in order, one optimizer step each.
    std::mt19937_64 rng(o.seed * 1000003ULL + static_cast<uint64_t>(state.step));
    std::vector<std::vector<int>> prefix;
    auto tokens = to_tensor(train_src.batch(B, rng, &prefix), dev);  // [B, S·T+1]
    if (o.memory_mode == "document")
      runner.clear();
    else
      runner.window(static_cast<std::size_t>(o.memory_window));
    for (int s = 0; s < S && state.step < o.steps; ++s) {
      const SegmentBatch sb = segment_of(tokens, prefix, s, T, dev);
      const double lr = lr_at(state.step, o.steps, o.warmup, o.lr, o.min_lr);
      set_lr(opt, lr);
      const auto t0 = Clock::now();
      const double loss = runner.run(sb.x, sb.y, &opt, o.clip, sb.prefix);
      seconds_total += std::chrono::duration<double>(Clock::now() - t0).count();
      if (!std::isfinite(loss))
        throw Error(ErrorCode::kInternal, "train: loss is not finite at step " + std::to_string(state.step));
      ++state.step;
      state.tokens += static_cast<int64_t>(B) * T;
      tokens_total += static_cast<int64_t>(B) * T;
      log.add(loss, static_cast<int64_t>(B) * T, state.step);

      // Validation with the memory and without, on the same episodes.
      const bool eval_now = val_src && (state.step % o.eval_every == 0 || state.step == o.steps);
      std::string vl, vn;
      if (eval_now) {
        const uint64_t vseed = o.seed + 77;
        rep.val_loss = evaluate(model, *val_src, o.eval_batches, B, S, T, memory.valid.get(), dev, vseed);
        vl = std::to_string(rep.val_loss);
        if (memory.valid) {
          rep.val_loss_nomem = evaluate(model, *val_src, o.eval_batches, B, S, T, nullptr, dev, vseed);
          vn = std::to_string(rep.val_loss_nomem);
        }
      }
      if (eval_now || state.step % o.log_every == 0 || state.step == o.steps)
        rep.train_loss = log.write(state, lr, vl, vn, runner.slots());
      if (state.step % o.save_every == 0) checkpoint();
    }
  }
  runner.clear();
  checkpoint();
  log.close();
  rep.steps = state.step;
  rep.tokens = state.tokens;
  rep.tokens_per_s = tokens_total / std::max(seconds_total, 1e-9);
  return rep;
}

double bench_throughput(const BenchOptions& o) {
  set_threads(o.threads);
  const c10::Device dev = parse_device(o.device);
  torch::manual_seed(0);
  Gpt model(o.model);
  model->to(dev);
  auto opt = make_optimizer(model, 3e-4, 0.1);
  std::unique_ptr<Database> db;
  std::shared_ptr<Memory> mem;
  std::string dir = o.db_dir;
  const bool own_dir = dir.empty();
  if (own_dir) dir = (fs::temp_directory_path() / ("engram-lm-bench-" + std::to_string(::getpid()))).string();
  if (o.use_memory && o.model.has_memory()) {
    fs::remove_all(dir);
    db = Database::open(dir);
    mem = open_model_memory(*db, "bench", o.model, true);
  }
  SegmentRunner runner(model, mem.get());
  const int T = o.model.block_size;
  double secs = 0;
  int64_t toks = 0;
  for (int64_t step = 0; step < o.steps + o.warmup_steps; ++step) {
    if (step % o.segments == 0) runner.clear();
    auto batch = torch::randint(0, o.model.vocab_size, {o.batch, T + 1}, torch::kLong).to(dev);  // [B, T+1]
    const auto t0 = Clock::now();
    runner.run(batch.narrow(1, 0, T), batch.narrow(1, 1, T), &opt, 1.0);
    if (step >= o.warmup_steps) {
      secs += std::chrono::duration<double>(Clock::now() - t0).count();
      toks += static_cast<int64_t>(o.batch) * T;
    }
  }
  runner.clear();
  mem.reset();
  db.reset();
  if (own_dir) fs::remove_all(dir);
  return toks / std::max(secs, 1e-9);
}

}  // namespace engram::lm
