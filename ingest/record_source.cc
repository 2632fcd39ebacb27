#include "ingest/record_source.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engram/error.h"
#include "ingest/jsonl_reader.h"
#include "ingest/vector_file.h"

namespace engram::ingest {
namespace {

Error bad(const std::string& what) { return Error(ErrorCode::kInvalidArgument, what); }

// Keys from one vector file, values from another: record i of each make slot i.
class PairSource final : public RecordSource {
 public:
  PairSource(const std::string& keys, const std::string& values)
      : keys_(VectorReader::open(keys)), values_(VectorReader::open(values)) {
    if (keys_->count() != values_->count()) {
      throw bad(values + ": holds " + std::to_string(values_->count()) + " records but " + keys +
                " holds " + std::to_string(keys_->count()));
    }
  }
  std::size_t key_dim() const override { return keys_->dim(); }
  std::size_t value_dim() const override { return values_->dim(); }
  std::optional<std::uint64_t> total_records() const override { return keys_->count(); }
  std::uint64_t total_bytes() const override { return keys_->file_bytes() + values_->file_bytes(); }
  std::vector<FileIdentity> files() const override {
    return {identify(keys_->path()), identify(values_->path())};
  }
  std::string conversion() const override {
    std::string out;
    for (const auto* r : {keys_.get(), values_.get()}) {
      if (r->source_type().empty()) continue;
      if (!out.empty()) out += ", ";
      out += std::string(r == keys_.get() ? "keys " : "values ") + r->source_type() + " -> float32";
    }
    return out;
  }
  bool next(std::size_t max_rows, Batch* out) override {
    out->keys.clear();
    out->values.clear();
    out->payloads.clear();
    const std::size_t n = keys_->read(max_rows, &out->keys);
    if (values_->read(n, &out->values) != n) throw bad(values_->path() + ": ends early");
    out->rows = n;
    out->records_end = keys_->position();
    out->offset_end = out->records_end;
    return n > 0;
  }
  void skip_to(std::uint64_t records, std::uint64_t) override {
    keys_->seek(records);
    values_->seek(records);
  }
  std::vector<float> sample_keys(std::size_t n) override {
    // A separate reader, evenly spaced records: a sample of the whole file, not of its start.
    auto r = VectorReader::open(keys_->path());
    const std::uint64_t total = r->count();
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, total));
    std::vector<float> out;
    out.reserve(n * r->dim());
    for (std::size_t i = 0; i < n; ++i) {
      r->seek(static_cast<std::uint64_t>(static_cast<double>(i) * total / n));
      r->read(1, &out);
    }
    return out;
  }

 private:
  std::unique_ptr<VectorReader> keys_, values_;
};

// A JSON Lines file (the format: jsonl_reader.h). Dimensions come from the first record.
class JsonlSource final : public RecordSource {
 public:
  JsonlSource(const std::string& path, std::size_t max_line_bytes)
      : path_(path), in_(path, std::ios::binary), reader_(in_, path, 0, 0, max_line_bytes),
        max_line_bytes_(max_line_bytes) {
    if (!in_) throw Error(ErrorCode::kNotFound, path + ": cannot open: " + std::strerror(errno));
    bytes_ = std::filesystem::file_size(path);
    Batch first;
    if (!reader_.next(1, &first)) throw bad(path + ": holds no records");
    skip_to(0, 0);
  }
  std::size_t key_dim() const override { return reader_.key_dim(); }
  std::size_t value_dim() const override { return reader_.value_dim(); }
  std::optional<std::uint64_t> total_records() const override { return std::nullopt; }
  std::uint64_t total_bytes() const override { return bytes_; }
  std::vector<FileIdentity> files() const override { return {identify(path_)}; }

  bool next(std::size_t max_rows, Batch* out) override { return reader_.next(max_rows, out); }
  void skip_to(std::uint64_t records, std::uint64_t offset) override {
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    // Line numbers are unknown after a seek: count the lines before `offset` to keep them right
    // (`offset` is a record boundary: just after a '\n', or the end of the file).
    std::uint64_t line = 0;
    if (offset > 0) {
      std::ifstream count(path_, std::ios::binary);
      char block[64 * 1024];
      char last = '\n';
      for (std::uint64_t at = 0; at < offset;) {
        count.read(block, static_cast<std::streamsize>(std::min<std::uint64_t>(sizeof block, offset - at)));
        const auto got = static_cast<std::size_t>(count.gcount());
        if (got == 0) break;
        line += static_cast<std::uint64_t>(std::count(block, block + got, '\n'));
        last = block[got - 1];
        at += got;
      }
      if (last != '\n') ++line;  // the file's last line, without a '\n'
    }
    reader_.reset_position(records, offset, line);
  }
  std::vector<float> sample_keys(std::size_t n) override {
    JsonlSource copy(path_, max_line_bytes_);
    Batch b;
    copy.next(n, &b);
    return std::move(b.keys);
  }

 private:
  std::string path_;
  std::ifstream in_;
  JsonlReader reader_;
  const std::size_t max_line_bytes_;
  std::uint64_t bytes_ = 0;
};

}  // namespace

FileIdentity identify(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(ErrorCode::kNotFound, path + ": " + std::strerror(errno));
  FileIdentity id;
  id.path = std::filesystem::absolute(path).string();
  id.size = static_cast<std::uint64_t>(st.st_size);
  id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return id;
}

std::unique_ptr<RecordSource> RecordSource::open(const std::string& path, const std::string& values_path,
                                                 std::size_t max_line_bytes) {
  const std::string ext = extension_of(path);
  if (ext == "jsonl" || ext == "ndjson") {
    if (!values_path.empty()) throw bad(path + ": JSON Lines records carry their values; drop --values");
    return std::make_unique<JsonlSource>(path, max_line_bytes);
  }
  if (values_path.empty()) {
    throw bad(path + ": keys from a vector file need their values: pass --values FILE");
  }
  return std::make_unique<PairSource>(path, values_path);
}

}  // namespace engram::ingest
