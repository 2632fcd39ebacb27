// fuzz_ingest.cc — the ingest record readers on an in-memory stream: JSON Lines (dimensions given,
// as an HTTP upload has them, or learned from the first record, as a .jsonl file) and binary
// records, including the held-back training sample and a resume by record count.
//
// Input: the first byte picks the reader and its line limit, the rest is the stream. Bad input
// must surface as an engram::Error (anything else escaping is a bug), and every batch must be
// whole: rows × key_dim keys, rows × value_dim values, no payloads or one per row.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "engram/error.h"
#include "ingest/jsonl_reader.h"
#include "ingest/stream_source.h"

namespace {

using engram::ingest::Batch;

void check_batch(const Batch& b, std::size_t kd, std::size_t vd) {
  if (b.keys.size() != b.rows * kd || b.values.size() != b.rows * vd ||
      !(b.payloads.empty() || b.payloads.size() == b.rows)) {
    std::fprintf(stderr, "a torn batch: %zu rows, %zu keys, %zu values, %zu payloads\n", b.rows, b.keys.size(),
                 b.values.size(), b.payloads.size());
    std::abort();
  }
}

void drain(engram::ingest::RecordSource& source, std::size_t kd, std::size_t vd, bool sample, std::uint64_t skip) {
  if (sample) source.sample_keys(5);
  if (skip) source.skip_to(skip, 0);
  Batch b;
  while (source.next(7, &b)) check_batch(b, kd, vd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::istringstream in(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  in.exceptions(std::ios::badbit);
  const std::size_t max_line = (mode & 4) ? 96 : 0;  // a small limit, or the dimensions' default
  try {
    switch (mode & 3) {
      case 0: {  // an upload: the memory's dimensions
        auto s = engram::ingest::open_stream(in, engram::ingest::StreamFormat::kJsonLines, 4, 3, size, "body", max_line);
        drain(*s, 4, 3, mode & 8, (mode >> 4) & 3);
        break;
      }
      case 1: {  // a file: dimensions learned from the first record
        engram::ingest::JsonlReader r(in, "file", 0, 0, max_line);
        Batch b;
        while (r.next(5, &b)) check_batch(b, r.key_dim(), r.value_dim());
        break;
      }
      default: {  // binary records
        auto s = engram::ingest::open_stream(in, engram::ingest::StreamFormat::kBinary, 2, 1, size, "body");
        drain(*s, 2, 1, mode & 8, (mode >> 4) & 3);
        break;
      }
    }
  } catch (const engram::Error&) {
    // refused input: what the readers are for
  }
  return 0;
}
