// lm/ingest.h — text knowledge ingestion: documents are encoded by the trained model and the
// memory block's (key, value) slots are inserted with payloads "source:offset". LibTorch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lm/corpus.h"

namespace engram {
class MemoryInterface;
}

namespace engram::lm {

class LanguageModel;

struct IngestOptions {
  int batch = 32;                   // segments encoded per forward pass
  bool progress = true;             // a progress bar on stderr
  float refresh_threshold = 2.0f;   // ≤ 1: refresh near-duplicate slots with write() instead
  int64_t max_slots = 0;            // stop after this many slots (0: no limit)
  // Each sentence its own segment (sentence_segments): keys of a sentence do not depend on
  // the text before it. Otherwise sentences are packed into block_size segments.
  bool sentence_segments = true;
};

struct IngestReport {
  int64_t documents = 0, segments = 0, tokens = 0, inserted = 0, refreshed = 0;
  double seconds = 0;
};

IngestReport ingest_documents(LanguageModel& lm, const std::vector<Document>& docs,
                              MemoryInterface& memory, const IngestOptions& options);

}  // namespace engram::lm
