#include "ingest/stream_source.h"

#include <algorithm>
#include <cmath>

#include "engram/error.h"
#include "ingest/jsonl_reader.h"

namespace engram::ingest {
namespace {

Error bad(const std::string& what) { return Error(ErrorCode::kInvalidArgument, what); }

// Appends `from`'s rows to `to`. Payload lists are either one per row or empty (no payloads):
// when only one side has them, the other's rows get empty ones.
void append_rows(Batch* to, Batch&& from) {
  if (from.rows == 0) return;
  if (!from.payloads.empty() && to->payloads.empty()) to->payloads.resize(to->rows);
  if (from.payloads.empty() && !to->payloads.empty()) from.payloads.resize(from.rows);
  to->keys.insert(to->keys.end(), from.keys.begin(), from.keys.end());
  to->values.insert(to->values.end(), from.values.begin(), from.values.end());
  for (auto& p : from.payloads) to->payloads.push_back(std::move(p));
  to->rows += from.rows;
}

// Moves the first n rows of `from` into `to` (replacing its contents).
void take_rows(Batch* from, std::size_t n, std::size_t kd, std::size_t vd, Batch* to) {
  to->keys.assign(from->keys.begin(), from->keys.begin() + n * kd);
  to->values.assign(from->values.begin(), from->values.begin() + n * vd);
  from->keys.erase(from->keys.begin(), from->keys.begin() + n * kd);
  from->values.erase(from->values.begin(), from->values.begin() + n * vd);
  to->payloads.clear();
  if (!from->payloads.empty()) {
    to->payloads.assign(std::make_move_iterator(from->payloads.begin()),
                        std::make_move_iterator(from->payloads.begin() + n));
    from->payloads.erase(from->payloads.begin(), from->payloads.begin() + n);
  }
  to->rows = n;
  from->rows -= n;
}

// What both formats share: the held-back sample, resume by reading, record counting.
class StreamSource : public RecordSource {
 public:
  StreamSource(std::size_t kd, std::size_t vd, std::uint64_t total_bytes, std::string name)
      : kd_(kd), vd_(vd), total_bytes_(total_bytes), name_(std::move(name)) {}

  std::size_t key_dim() const override { return kd_; }
  std::size_t value_dim() const override { return vd_; }
  std::optional<std::uint64_t> total_records() const override { return std::nullopt; }
  std::uint64_t total_bytes() const override { return total_bytes_; }
  std::vector<FileIdentity> files() const override { return {FileIdentity{name_, total_bytes_, 0}}; }

  bool next(std::size_t max_rows, Batch* out) override {
    if (held_.rows == 0) {
      read(max_rows, out);
    } else {
      take_rows(&held_, std::min(max_rows, held_.rows), kd_, vd_, out);
      Batch more;
      if (out->rows < max_rows && read(max_rows - out->rows, &more)) append_rows(out, std::move(more));
    }
    served_ += out->rows;
    out->records_end = served_;
    out->offset_end = 0;  // a stream resumes by record count (skip_to), never by offset
    return out->rows > 0;
  }

  void skip_to(std::uint64_t records, std::uint64_t) override {
    if (served_ != 0 || held_.rows != 0) throw Error(ErrorCode::kInternal, name_ + ": skip_to after reading");
    Batch drop;
    for (std::uint64_t left = records; left > 0; left -= drop.rows) {
      if (!read(static_cast<std::size_t>(std::min<std::uint64_t>(left, 4096)), &drop)) {
        throw bad(name_ + ": holds " + std::to_string(records - left) +
                  " records, but the interrupted ingest it resumes had already done " + std::to_string(records));
      }
    }
    served_ = records;
  }

  std::vector<float> sample_keys(std::size_t n) override {
    Batch more;
    if (held_.rows < n && read(n - held_.rows, &more)) append_rows(&held_, std::move(more));
    const std::size_t rows = std::min(n, held_.rows);
    return std::vector<float>(held_.keys.begin(), held_.keys.begin() + rows * kd_);
  }

 protected:
  // The next up to max_rows records of the stream into *out (replacing its contents); false
  // when the stream is at its end.
  virtual bool read(std::size_t max_rows, Batch* out) = 0;

  const std::size_t kd_, vd_;
  const std::uint64_t total_bytes_;
  const std::string name_;

 private:
  Batch held_;              // read ahead for sample_keys(), not yet handed out
  std::uint64_t served_ = 0;  // records handed out (or skipped) so far
};

class JsonlStreamSource final : public StreamSource {
 public:
  JsonlStreamSource(std::istream& in, std::size_t kd, std::size_t vd, std::uint64_t total, const std::string& name,
                    std::size_t max_line_bytes)
      : StreamSource(kd, vd, total, name), reader_(in, name, kd, vd, max_line_bytes) {}

 protected:
  bool read(std::size_t max_rows, Batch* out) override { return reader_.next(max_rows, out); }

 private:
  JsonlReader reader_;
};

class BinaryStreamSource final : public StreamSource {
 public:
  BinaryStreamSource(std::istream& in, std::size_t kd, std::size_t vd, std::uint64_t total, const std::string& name)
      : StreamSource(kd, vd, total, name), in_(in) {}

 protected:
  bool read(std::size_t max_rows, Batch* out) override {
    out->keys.resize(max_rows * kd_);
    out->values.resize(max_rows * vd_);
    out->payloads.clear();
    bool any_payload = false;
    std::size_t rows = 0;
    for (; rows < max_rows; ++rows) {
      const std::string where = name_ + ": record " + std::to_string(record_ + 1) + ": ";
      float* key = out->keys.data() + rows * kd_;
      if (!read_exactly(key, kd_ * sizeof(float), where, /*at_start=*/true)) break;
      float* value = out->values.data() + rows * vd_;
      read_exactly(value, vd_ * sizeof(float), where, false);
      std::uint32_t len = 0;
      read_exactly(&len, sizeof len, where, false);
      if (len > kMaxStreamPayloadBytes) {
        throw MalformedRecord(where + "payload length " + std::to_string(len) + " exceeds " +
                              std::to_string(kMaxStreamPayloadBytes) + " bytes");
      }
      std::string payload(len, '\0');
      read_exactly(payload.data(), len, where, false);
      if (!std::all_of(key, key + kd_, [](float f) { return std::isfinite(f); }))
        throw bad(where + "the key holds NaN or Inf");
      if (!std::all_of(value, value + vd_, [](float f) { return std::isfinite(f); }))
        throw bad(where + "the value holds NaN or Inf");
      if (len > 0 && !any_payload) {
        out->payloads.resize(rows);
        any_payload = true;
      }
      if (any_payload) out->payloads.push_back(std::move(payload));
      ++record_;
    }
    out->keys.resize(rows * kd_);
    out->values.resize(rows * vd_);
    out->rows = rows;
    return rows > 0;
  }

 private:
  // Reads `n` bytes. At a record's start a clean end of stream returns false; anywhere else a
  // short read is a truncated record.
  bool read_exactly(void* to, std::size_t n, const std::string& where, bool at_start) {
    if (n == 0) return true;
    in_.read(static_cast<char*>(to), static_cast<std::streamsize>(n));
    const auto got = static_cast<std::size_t>(in_.gcount());
    if (in_.bad()) throw Error(ErrorCode::kIOError, name_ + ": read failed");
    if (got == n) return true;
    if (at_start && got == 0) return false;
    throw MalformedRecord(where + "truncated: the stream ends inside the record");
  }

  std::istream& in_;
  std::uint64_t record_ = 0;
};

}  // namespace

std::unique_ptr<RecordSource> open_stream(std::istream& in, StreamFormat format, std::size_t key_dim,
                                          std::size_t value_dim, std::uint64_t total_bytes,
                                          const std::string& name, std::size_t max_line_bytes) {
  if (key_dim == 0 || value_dim == 0) throw bad(name + ": a stream needs the memory's dimensions");
  if (format == StreamFormat::kBinary)
    return std::make_unique<BinaryStreamSource>(in, key_dim, value_dim, total_bytes, name);
  return std::make_unique<JsonlStreamSource>(in, key_dim, value_dim, total_bytes, name, max_line_bytes);
}

}  // namespace engram::ingest
