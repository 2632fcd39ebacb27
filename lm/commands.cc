// lm/commands.cc — CLI11 wiring for train, generate, eval, tune-readout, text ingestion (and bench).
#include "lm/commands.h"

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include "engram/database.h"
#include "engram/error.h"
#include "lm/command_names.h"
#include "lm/corpus.h"
#include "lm/device.h"
#include "lm/evaluator.h"
#include "lm/generator.h"
#include "lm/ingest.h"
#include "lm/language_model.h"
#include "lm/memory_store.h"
#include "lm/passages.h"
#include "lm/question_answering.h"
#include "lm/trainer.h"
#include "lm/tuner.h"

namespace engram::lm {

void register_lm_tune_command(CLI::App& app);

namespace {

void add_model_shape(CLI::App* c, ModelConfig& m) {
  c->add_option("--layers", m.n_layer, "decoder blocks")->capture_default_str();
  c->add_option("--heads", m.n_head, "attention heads")->capture_default_str();
  c->add_option("--width", m.d_model, "model width")->capture_default_str();
  c->add_option("--block-size", m.block_size, "positions = segment length")->capture_default_str();
  c->add_option("--memory-layer", m.memory_layer, "block with the memory sublayer (-1: none; default: the last)");
  c->add_option("--memory-dim", m.memory_dim, "slot key/value width (0: width)")->capture_default_str();
  c->add_option("--memory-k", m.memory_k, "slots retrieved per query")->capture_default_str();
  c->add_option("--dropout", m.dropout, "dropout probability in training")->capture_default_str();
  c->add_flag("--knn", m.memory_knn,
              "kNN-LM read-out: slot value = next token, output (1-λ)·p_LM + λ·p_kNN");
  c->add_option("--memory-scale-init", m.memory_scale_init, "initial sharpness of cosine scores")
      ->capture_default_str();
}

}  // namespace

namespace {
// A pair of flags that set one bool either way ("--packed" / "--sentences"). CLI11's own
// "--a,!--b" syntax shows as "--a,--b{false}" in --help, and its negation is easy to get
// backwards; two callbacks say exactly what each flag does. `target` must outlive parsing.
void add_either_or(CLI::App& c, const std::string& yes, const std::string& yes_help, const std::string& no,
                   const std::string& no_help, bool& target) {
  c.add_flag_callback(yes, [&target] { target = true; }, yes_help);
  c.add_flag_callback(no, [&target] { target = false; }, no_help);
}
const char* description_of(const std::string& name) {
  for (const LmCommand& c : kLmCommands)
    if (name == c.name) return c.description;
  return "";
}
}  // namespace

void register_lm_commands(CLI::App& app) {
  // ---- train -------------------------------------------------------------------------------
  {
    auto o = std::make_shared<TrainOptions>();
    o->model.memory_layer = -2;  // "the last block" unless given
    auto* c = app.add_subcommand("train", description_of("train"));
    c->add_option("inputs", o->inputs, "training text files")->required()->check(CLI::ExistingFile);
    c->add_option("--valid", o->valid, "validation text files")->check(CLI::ExistingFile);
    c->add_option("--out,-o", o->out, "model directory")->required();
    c->add_option("--vocab-size", o->vocab_size, "SentencePiece vocabulary size")->capture_default_str();
    add_model_shape(c, o->model);
    c->add_option("--steps", o->steps, "optimizer steps (one per segment)")->capture_default_str();
    c->add_option("--batch", o->batch, "documents trained on together")->capture_default_str();
    c->add_option("--segments", o->segments, "segments per document episode")->capture_default_str();
    c->add_option("--lr", o->lr, "peak learning rate (AdamW)")->capture_default_str();
    c->add_option("--min-lr", o->min_lr, "learning rate the cosine schedule decays to")->capture_default_str();
    c->add_option("--warmup", o->warmup, "steps of linear warm-up to --lr")->capture_default_str();
    c->add_option("--weight-decay", o->weight_decay, "AdamW weight decay")->capture_default_str();
    c->add_option("--clip", o->clip, "gradient clipping (global norm)")->capture_default_str();
    c->add_option("--eval-every", o->eval_every, "steps between validation losses")->capture_default_str();
    c->add_option("--eval-batches", o->eval_batches, "batches each validation loss averages")->capture_default_str();
    c->add_option("--save-every", o->save_every, "steps between checkpoints in --out")->capture_default_str();
    c->add_option("--log-every", o->log_every, "steps between progress lines")->capture_default_str();
    c->add_flag("--no-memory", [o](int64_t) { o->use_memory = false; }, "train without reading the memory");
    c->add_option("--memory-mode", o->memory_mode, "document (cleared per document batch) | window")
        ->check(CLI::IsMember({"document", "window"}))->capture_default_str();
    c->add_option("--memory-window", o->memory_window, "slots kept in window mode")->capture_default_str();
    c->add_option("--drill-facts", o->drill_facts, "prompt<TAB>answer facts for recall drills (never eval facts)")
        ->check(CLI::ExistingFile);
    c->add_option("--drill-ratio", o->drill_ratio, "share of episodes that are recall drills (with --drill-facts)")->capture_default_str();
    c->add_option("--drill-knowledge-segments", o->drill_knowledge_segments,
                  "segments of a drill that state facts before the questions (0: half of --segments)")->capture_default_str();
    c->add_option("--rephrase-prob", o->rephrase_prob,
                  "share of drill questions asked in other words (0: none; that rephrasing is the evaluation's)")->capture_default_str();
    c->add_option("--reader-ratio", o->reader_ratio,
                  "share of episodes that are reader drills: passages, a question, its answer (0: none)")
        ->capture_default_str();
    c->add_option("--reader-facts", o->reader_facts,
                  "subject<TAB>relation<TAB>object facts whose subjects reader drills use (never eval subjects)")
        ->check(CLI::ExistingFile);
    c->add_option("--read-passages", o->read_passages, "passages a reader drill (and a question) reads")
        ->capture_default_str();
    c->add_option("--word-families", o->word_families,
                  "word family table for the passage keys (scripts/wordnet-families.py), so \"the death of X\" "
                  "meets \"X died\"; stored with the model")
        ->check(CLI::ExistingFile);
    c->add_option("--copy-match", o->copy_match,
                  "longest run of tokens the copy head matches against the passages (1: the last token only)")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    c->add_option("--seed", o->seed, "random seed (data order, initial weights, sampling)")->capture_default_str();
    c->add_option("--threads", o->threads, "CPU threads for LibTorch")->capture_default_str();
    c->add_option("--device", o->device, "cpu | cuda")->capture_default_str();
    c->add_flag("--resume", o->resume, "continue from the checkpoint in --out");
    c->add_flag("--quiet", o->quiet, "print only the final JSON line");
    c->callback([o] {
      TrainOptions opts = *o;
      if (opts.model.memory_layer == -2) opts.model.memory_layer = opts.model.n_layer - 1;
      const TrainReport r = train(opts);
      // JSON has no NaN: a loss never measured (no --valid) is null.
      const auto loss = [](double v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.4f", v);
        return std::isfinite(v) ? std::string(buf) : std::string("null");
      };
      std::printf("{\"steps\":%lld,\"tokens\":%lld,\"train_loss\":%s,\"val_loss\":%s,"
                  "\"val_loss_nomem\":%s,\"tokens_per_s\":%.1f}\n",
                  static_cast<long long>(r.steps), static_cast<long long>(r.tokens), loss(r.train_loss).c_str(),
                  loss(r.val_loss).c_str(), loss(r.val_loss_nomem).c_str(), r.tokens_per_s);
    });
  }
  // ---- generate ----------------------------------------------------------------------------
  {
    struct G {
      std::string model, prompt, db, memory, device = "cpu";
      GenerateOptions g;
      int threads = 2;
      bool show_retrieved = false;
    };
    auto o = std::make_shared<G>();
    auto* c = app.add_subcommand("generate", description_of("generate"));
    c->add_option("--model,-m", o->model, "model directory")->required();
    c->add_option("--prompt,-p", o->prompt, "text to continue")->required();
    c->add_option("--data,--db", o->db, "database folder holding the memory");
    c->add_option("--memory", o->memory,
                  "memory name in --data: a model that reads passages answers from NAME.passages, "
                  "others read NAME at every step (none: generate without memory)");
    c->add_flag("--show-retrieved", o->show_retrieved, "print the passages read (score and text) on stderr");
    c->add_option("--max-new-tokens,-n", o->g.max_new_tokens, "tokens generated at most")->capture_default_str();
    c->add_option("--temperature", o->g.temperature, "0: greedy")->capture_default_str();
    c->add_option("--top-k", o->g.top_k, "sample among the k likeliest tokens (0: all)")->capture_default_str();
    c->add_option("--top-p", o->g.top_p, "sample among the likeliest tokens whose probabilities add up to p (1: all)")->capture_default_str();
    c->add_option("--seed", o->g.seed, "random seed for sampling")->capture_default_str();
    c->add_option("--threads", o->threads, "CPU threads for LibTorch")->capture_default_str();
    c->add_option("--device", o->device, "cpu | cuda")->capture_default_str();
    c->callback([o] {
      set_threads(o->threads);
      auto lm = LanguageModel::load(o->model, o->device);
      std::unique_ptr<Database> db;
      std::shared_ptr<Memory> mem;
      if (!o->memory.empty()) {
        if (o->db.empty()) throw CLI::ValidationError("--memory needs --data");
        DatabaseOptions dbo;
        dbo.create_if_missing = false;
        db = Database::open(o->db, dbo);
        if (auto passages = passage_memory_for(*lm, *db, o->memory)) {
          const Answer a = answer_from_passages(*lm, *passages, {o->prompt}, o->g)[0];
          if (o->show_retrieved)
            for (const auto& p : a.passages) std::fprintf(stderr, "retrieved %.3f  %s\n", p.score, p.text.c_str());
          std::cout << o->prompt << a.text << std::endl;
          return;
        }
        mem = open_model_memory(*db, o->memory, lm->config(), false);
        if (o->show_retrieved)
          std::fprintf(stderr, "generate: memory '%s' has no passages to show (the model %s)\n", o->memory.c_str(),
                       lm->config().read_passages > 0 ? "reads passages, but none were ingested" : "does not read passages");
      }
      std::cout << o->prompt << generate_text(*lm, o->prompt, o->g, mem.get()) << std::endl;
    });
  }
  // ---- eval --------------------------------------------------------------------------------
  {
    auto o = std::make_shared<EvalOptions>();
    auto* c = app.add_subcommand("eval", description_of("eval"));
    c->add_option("--model,-m", o->model, "model directory")->required();
    c->add_option("--facts", o->facts, "prompt<TAB>answer[<TAB>relation] facts never seen in training")
        ->required()->check(CLI::ExistingFile);
    c->add_option("--rephrased", o->rephrased, "the same facts asked another way (one line per fact)")
        ->check(CLI::ExistingFile);
    c->add_option("--inverted", o->inverted,
                  "statement<TAB>prompt<TAB>answer[<TAB>relation]: facts stated object first, asked subject first")
        ->check(CLI::ExistingFile);
    c->add_option("--out", o->out, "per-fact results, one JSON object a line (prompt, answer, generated, retrieved)");
    c->add_option("--text", o->text, "text for the memory (training corpus; distractors)")->check(CLI::ExistingFile);
    c->add_option("--distractor-facts", o->distractor_facts,
                  "prompt<TAB>answer facts about other subjects, stated as distractor passages (never the eval facts)")
        ->check(CLI::ExistingFile);
    c->add_option("--heldout", o->heldout, "held-out text for perplexity")->check(CLI::ExistingFile);
    c->add_option("--db", o->db, "database folder (default: temporary)");
    c->add_option("--distractor-slots", o->distractor_slots, "slots of unrelated text in the memory besides the facts")->capture_default_str();
    c->add_option("--max-facts", o->max_facts, "0: all")->capture_default_str();
    c->add_option("--max-new-tokens", o->max_new_tokens, "answer tokens generated (0: what the longest answer needs)")
        ->capture_default_str();
    c->add_option("--ppl-tokens", o->ppl_tokens, "held-out tokens scored per setting")->capture_default_str();
    c->add_option("--facts-per-paragraph", o->facts_per_paragraph, "facts stated in one ingested paragraph")->capture_default_str();
    add_either_or(*c, "--sentences", "ingest the facts' documents one segment per sentence (the default)",
                  "--packed", "ingest the facts' documents packed in block_size segments", o->sentence_segments);
    add_either_or(*c, "--corpus-packed", "the --text corpus in block_size segments, as the LM reads text (the default)",
                  "--corpus-sentences", "the --text corpus one segment per sentence", o->corpus_packed);
    c->add_option("--seed", o->seed, "random seed (data order, initial weights, sampling)")->capture_default_str();
    c->add_option("--threads", o->threads, "CPU threads for LibTorch")->capture_default_str();
    c->add_option("--device", o->device, "cpu | cuda")->capture_default_str();
    c->callback([o] {
      const EvalReport r = run_eval(*o);
      std::cout << r.json << "\n" << r.table;
    });
  }
  register_lm_tune_command(app);
}

void add_text_ingest_options(CLI::App& c, TextIngestArgs& a) {
  c.add_option("--model,-m", a.model, "model directory (with --text)");
  c.add_option("--batch", a.io.batch, "with --text: segments per forward pass")->capture_default_str();
  add_either_or(c, "--sentences", "with --text: one segment per sentence (the default)", "--packed",
                "with --text: pack sentences into block_size segments", a.io.sentence_segments);
  c.add_option("--refresh-threshold", a.io.refresh_threshold,
               "with --text: cosine above which a slot is refreshed with write() instead of inserted (>1: never)")
      ->capture_default_str();
  c.add_option("--threads", a.threads, "with --text: LibTorch threads")->capture_default_str();
  c.add_option("--device", a.device, "with --text: cpu | cuda")->capture_default_str();
}

int run_text_ingest(const TextIngestArgs& a) {
  if (a.model.empty()) throw Error(ErrorCode::kInvalidArgument, "ingest --text needs --model");
  if (a.data.empty()) throw Error(ErrorCode::kInvalidArgument, "ingest --text needs --data");
  set_threads(a.threads);
  auto lm = LanguageModel::load(a.model, a.device);
  auto db = Database::open(a.data);
  auto mem = open_model_memory(*db, a.memory, lm->config(), false);
  const auto docs = read_documents(a.files);
  const IngestReport r = ingest_documents(*lm, docs, *mem, a.io);
  // A model that reads passages also gets the documents' sentences in NAME.passages.
  int64_t passages = 0, passage_slots = 0;
  if (lm->passage_keys() != nullptr) {
    auto pm = open_passage_memory(*db, passage_memory_name(a.memory), lm->passage_keys()->dim(), false);
    std::vector<std::string> units;
    for (const auto& d : docs)
      for (auto& p : passage_units(d)) units.push_back(std::move(p));
    passages = store_passages(*pm, *lm->passage_keys(), units);
    passage_slots = static_cast<int64_t>(pm->count());
  }
  std::printf("{\"documents\":%lld,\"segments\":%lld,\"tokens\":%lld,\"inserted\":%lld,"
              "\"refreshed\":%lld,\"passages\":%lld,\"seconds\":%.2f,\"memory_slots\":%llu,"
              "\"passage_slots\":%lld}\n",
              static_cast<long long>(r.documents), static_cast<long long>(r.segments),
              static_cast<long long>(r.tokens), static_cast<long long>(r.inserted),
              static_cast<long long>(r.refreshed), static_cast<long long>(passages), r.seconds,
              static_cast<unsigned long long>(mem->count()), static_cast<long long>(passage_slots));
  return 0;
}

void register_lm_ingest_command(CLI::App& app) {
  auto a = std::make_shared<TextIngestArgs>();
  auto* c = app.add_subcommand("ingest", "encode text documents with the model and insert their slots into a memory");
  c->add_option("--text", a->files, "text files (documents separated by <|endofdoc|> lines)")
      ->required()->check(CLI::ExistingFile);
  c->add_option("--data,--db", a->data, "database folder (created if missing)")->required();
  c->add_option("--memory", a->memory, "memory name (created for the model if missing)")->capture_default_str();
  add_text_ingest_options(*c, *a);
  c->get_option("--model")->required();
  auto quiet = std::make_shared<bool>(false);
  c->add_flag("-q,--quiet", *quiet, "no progress display");
  c->callback([a, quiet] {
    a->io.progress = !*quiet;
    run_text_ingest(*a);
  });
}

void register_lm_tune_command(CLI::App& app) {
  auto o = std::make_shared<TuneOptions>();
  auto* c = app.add_subcommand("tune-readout", description_of("tune-readout"));
  c->add_option("--model,-m", o->model, "model directory")->required();
  c->add_option("--facts", o->facts, "dev prompt<TAB>answer facts (never the eval facts)")->required()->check(CLI::ExistingFile);
  c->add_option("--text", o->text, "text for the memory (training corpus; distractors)")->check(CLI::ExistingFile);
  c->add_option("--valid", o->valid, "validation text for perplexity (never the test text)")->check(CLI::ExistingFile);
  c->add_option("--distractor-slots", o->distractor_slots, "slots of unrelated text in the memory besides the facts")->capture_default_str();
  c->add_option("--max-facts", o->max_facts, "0: all")->capture_default_str();
  c->add_option("--ppl-tokens", o->ppl_tokens, "held-out tokens scored per setting")->capture_default_str();
  c->add_option("--recall-slack", o->recall_slack,
                "settings within this of the best dev recall compete on perplexity")->capture_default_str();
  c->add_option("--k", o->ks, "candidate numbers of voting slots (memory_k), e.g. --k 16 32 64 128")
      ->capture_default_str();
  c->add_flag_callback("--dry-run", [o] { o->write = false; }, "print the choice without writing it");
  c->add_option("--knn-keys", o->knn_keys,
                "kNN key choices to try, the best kept: hidden (LN(h), kNN-LM's) and/or projected (W_q LN(h))")
      ->check(CLI::IsMember({"hidden", "projected"}))
      ->capture_default_str();
  c->add_option("--copy-match", o->copy_match,
                "also store this run cap of the copy head (lm/copy_head.h; 0: keep the model's); a model trained "
                "with runs up to 8 reads best with 3")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  add_either_or(*c, "--corpus-packed", "the --text corpus in block_size segments (the default)",
                "--corpus-sentences", "the --text corpus one segment per sentence", o->corpus_packed);
  add_either_or(*c, "--doc-memory", "perplexity with the document so far added to the corpus memory (the default)",
                "--no-doc-memory", "perplexity with the corpus memory alone", o->doc_memory);
  c->add_option("--seed", o->seed, "random seed (which facts and distractors are drawn)")->capture_default_str();
  c->add_option("--threads", o->threads, "CPU threads for LibTorch")->capture_default_str();
  c->add_option("--device", o->device, "cpu | cuda")->capture_default_str();
  c->callback([o] {
    const TuneReport r = tune_readout(*o);
    std::cout << r.json << "\n" << r.table;
  });
}

void register_lm_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  o->model.memory_layer = -2;
  auto* c = app.add_subcommand("bench", "training throughput on random tokens (tokens/s)");
  add_model_shape(c, o->model);
  c->add_option("--vocab-size", o->model.vocab_size, "vocabulary size of the random tokens")->capture_default_str();
  c->add_option("--batch", o->batch, "documents trained on together")->capture_default_str();
  c->add_option("--segments", o->segments, "segments per document episode")->capture_default_str();
  c->add_option("--steps", o->steps, "optimizer steps timed")->capture_default_str();
  c->add_option("--warmup-steps", o->warmup_steps, "steps run before the timing starts")->capture_default_str();
  c->add_flag("--no-memory", [o](int64_t) { o->use_memory = false; }, "train without reading the memory");
  c->add_option("--threads", o->threads, "CPU threads for LibTorch")->capture_default_str();
  c->add_option("--device", o->device, "cpu | cuda")->capture_default_str();
  c->callback([o] {
    BenchOptions b = *o;
    if (b.model.memory_layer == -2) b.model.memory_layer = b.model.n_layer - 1;
    const double tps = bench_throughput(b);
    std::printf("{\"impl\":\"libtorch\",\"memory\":%s,\"tokens_per_s\":%.1f}\n",
                b.use_memory ? "true" : "false", tps);
  });
}

}  // namespace engram::lm
