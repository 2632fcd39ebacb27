// lm/heldout.h — held-out text scored the way it is read: each document from its start, in
// segments of block_size tokens, in order. The memory (nullable) is read at every position; with
// `store`, each segment's slots are inserted after it is scored (the document so far, a cache in
// the sense of kNN-LM / neural cache models) and removed when the document ends, so the memory
// never holds text that has not been scored yet.
#pragma once

#include <functional>
#include <vector>

#include "engram/memory_interface.h"
#include "lm/checkpoint.h"
#include "lm/corpus.h"

namespace engram::lm {

// Called per segment with the model's trace of it (Gpt::output gives its distribution) and the
// targets [1, T].
using SegmentFn = std::function<void(const Trace& trace, const torch::Tensor& y)>;

// Scores at most `max_tokens` tokens (whole segments); returns how many were scored.
int64_t score_heldout(LoadedModel& m, const std::vector<Document>& docs, int64_t max_tokens,
                      MemoryInterface* memory, bool store, const SegmentFn& fn);

}  // namespace engram::lm
