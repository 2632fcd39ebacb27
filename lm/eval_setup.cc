// lm/eval_setup.cc — the scratch memory of eval and tune-readout.
#include "lm/eval_setup.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "lm/ingest.h"
#include "lm/language_model.h"
#include "lm/memory_store.h"

namespace engram::lm {

namespace fs = std::filesystem;

CorpusMemory::~CorpusMemory() {
  tokens.reset();
  db.reset();
  if (temporary) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
}

std::unique_ptr<CorpusMemory> build_corpus_memory(LanguageModel& lm, const CorpusMemoryOptions& o) {
  auto c = std::make_unique<CorpusMemory>();
  c->dir = o.db_dir;
  c->temporary = c->dir.empty();
  if (c->temporary) {
    c->dir = (fs::temp_directory_path() / ("engram-lm-" + o.memory + "-" + std::to_string(::getpid()))).string();
    fs::remove_all(c->dir);
  }
  c->db = Database::open(c->dir);
  c->tokens = open_model_memory(*c->db, o.memory, lm.config(), true);
  if (!o.text.empty()) {
    c->text_docs = read_documents(o.text);
    IngestOptions io;
    io.progress = o.progress;
    io.max_slots = o.max_slots;
    io.sentence_segments = !o.packed;
    if (o.progress)
      std::fprintf(stderr, "ingesting the text corpus (up to %lld slots)\n", static_cast<long long>(o.max_slots));
    ingest_documents(lm, c->text_docs, *c->tokens, io);
  }
  c->corpus_slots = static_cast<int64_t>(c->tokens->count());
  return c;
}

std::vector<Sentence> prose_sentences(const std::vector<const std::vector<Document>*>& sources, std::size_t max) {
  std::vector<Sentence> prose;
  for (const auto* docs : sources)
    for (const auto& d : *docs) {
      for (auto& s : split_sentences(d))
        if (s.text.size() < 300) prose.push_back(std::move(s));
      if (prose.size() > max) return prose;
    }
  return prose;
}

}  // namespace engram::lm
