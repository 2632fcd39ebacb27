// ingest/vector_file.h — reading and writing the plain vector files of the ANN world.
//
//   .fvecs  per record: int32 d (little-endian), then d float32
//   .bvecs  per record: int32 d, then d uint8 (read as floats 0..255)
//   .ivecs  per record: int32 d, then d int32 (written for search results)
//   .npy    NumPy v1/v2/v3, dtype '<f4', '<f8' or '<f2' (converted to float32), C order,
//           2-D shape (n, d)
//
// Every record has the same size, so a reader knows its count from the file size, can seek to
// any record (resume, training samples) and rejects truncated or mixed-dimension files by
// record number. Errors are engram::Error(kInvalidArgument) messages that start with the path.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace engram::ingest {

class VectorReader {
 public:
  // Opens by extension (.fvecs, .bvecs, .npy). Checks the header and the size: a file whose size
  // is not a whole number of records is rejected naming the first bad record (mixed dimension)
  // or the incomplete last one (truncated).
  static std::unique_ptr<VectorReader> open(const std::string& path);
  virtual ~VectorReader();

  const std::string& path() const { return path_; }
  std::size_t dim() const { return dim_; }
  std::uint64_t count() const { return count_; }
  std::uint64_t file_bytes() const { return file_bytes_; }
  std::uint64_t position() const { return next_; }
  // The element type of the file when it is not float32 and is converted as it is read
  // ("float64", "float16", "uint8"); empty for float32.
  const std::string& source_type() const { return source_type_; }

  // Appends up to n records (n × dim floats) to *out from the current position; returns how many.
  // Throws on a record of another dimension or holding NaN/Inf, naming the record (from 1).
  // Reads in groups of about 256 KiB, each checked while it is still in cache.
  std::size_t read(std::size_t n, std::vector<float>* out);
  void seek(std::uint64_t record);

 protected:
  VectorReader(std::string path, std::FILE* f);
  // Decodes `n` raw records at `raw` into floats; first_record numbers them for errors.
  virtual void decode(const char* raw, std::size_t n, std::uint64_t first_record, float* out) const = 0;
  // Reads records [first, first + n) as n × dim floats into `out`, checking their headers.
  // This one reads them into buf_ and decodes; a format whose bytes are already floats
  // overrides it to read straight into `out` (one copy, from the page cache).
  virtual void read_records(std::uint64_t first, std::size_t n, float* out);
  virtual std::uint64_t offset_of(std::uint64_t record) const = 0;
  std::size_t record_bytes_ = 0;

  std::string path_;
  std::FILE* f_ = nullptr;
  std::size_t dim_ = 0;
  std::uint64_t count_ = 0;
  std::uint64_t file_bytes_ = 0;
  std::uint64_t next_ = 0;
  std::string source_type_;
  std::vector<char> buf_;
};

// Writes records of one dimension to a .fvecs / .ivecs file.
class VecsWriter {
 public:
  explicit VecsWriter(const std::string& path);
  ~VecsWriter();
  void write_floats(const float* rows, std::size_t n, std::size_t dim);
  void write_ints(const std::int32_t* rows, std::size_t n, std::size_t dim);
  // Flushes and closes; throws kIOError when the data did not reach the file.
  void close();

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
};

// The extension of `path` in lower case, without the dot ("fvecs").
std::string extension_of(const std::string& path);

}  // namespace engram::ingest
