#include "ingest/vector_file.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <regex>

#include <sys/uio.h>
#include <unistd.h>

#include "api/src/validation.h"
#include "engram/error.h"

namespace engram::ingest {
namespace {

Error bad(const std::string& path, const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, path + ": " + what);
}

std::uint32_t le32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);  // the formats are little-endian, as is every machine we build for
  return v;
}

bool pread_at(std::FILE* f, std::uint64_t offset, void* out, std::size_t n) {
  if (std::fseek(f, static_cast<long>(offset), SEEK_SET) != 0) return false;
  return std::fread(out, 1, n, f) == n;
}

// Records per preadv: two iovecs each (header, data), IOV_MAX is 1024 on Linux.
constexpr std::size_t kMaxGroupRecords = 512;
constexpr std::size_t kGroupBytes = 256 << 10;

// .fvecs / .bvecs: a 4-byte dimension before every record.
class FvecsReader final : public VectorReader {
 public:
  FvecsReader(const std::string& path, std::FILE* f, std::size_t elem) : VectorReader(path, f), elem_(elem) {
    char head[4];
    if (file_bytes_ == 0) throw bad(path_, "the file is empty");
    if (file_bytes_ < 4 || !pread_at(f_, 0, head, 4)) throw bad(path_, "record 1 is truncated");
    const std::uint32_t d = le32(head);
    if (d == 0 || d > 65536) throw bad(path_, "record 1 has dimension " + std::to_string(d) + " (must be 1..65536)");
    dim_ = d;
    record_bytes_ = 4 + dim_ * elem_;
    if (elem_ == 1) source_type_ = "uint8";
    count_ = file_bytes_ / record_bytes_;
    if (file_bytes_ % record_bytes_ != 0) locate_bad_record();
  }

 private:
  // The size is not a whole number of records: either some record has another dimension or the
  // last one is cut short. Walk the headers to say which (only on this error path).
  [[noreturn]] void locate_bad_record() const {
    char head[4];
    for (std::uint64_t r = 0; r < count_; ++r) {
      if (!pread_at(f_, r * record_bytes_, head, 4)) break;
      if (le32(head) != dim_) {
        throw bad(path_, "record " + std::to_string(r + 1) + " has dimension " +
                             std::to_string(le32(head)) + ", record 1 has " + std::to_string(dim_));
      }
    }
    throw bad(path_, "truncated: record " + std::to_string(count_ + 1) + " is incomplete (" +
                         std::to_string(file_bytes_ - count_ * record_bytes_) + " of " +
                         std::to_string(record_bytes_) + " bytes)");
  }

  void decode(const char* raw, std::size_t n, std::uint64_t first, float* out) const override {
    for (std::size_t i = 0; i < n; ++i) {
      const char* rec = raw + i * record_bytes_;
      if (le32(rec) != dim_) {
        throw bad(path_, "record " + std::to_string(first + i + 1) + " has dimension " +
                             std::to_string(le32(rec)) + ", record 1 has " + std::to_string(dim_));
      }
      float* o = out + i * dim_;
      if (elem_ == 4) {
        std::memcpy(o, rec + 4, dim_ * 4);
      } else {
        const auto* b = reinterpret_cast<const unsigned char*>(rec + 4);
        for (std::size_t d = 0; d < dim_; ++d) o[d] = static_cast<float>(b[d]);
      }
    }
  }
  std::uint64_t offset_of(std::uint64_t record) const override { return record * record_bytes_; }

  // float32 records: the kernel copies each record's floats straight to `out` and its header to
  // a small array (preadv), rather than everything to a buffer and then again to `out`.
  void read_records(std::uint64_t first, std::size_t n, float* out) override {
    if (elem_ != 4 || n > kMaxGroupRecords) return VectorReader::read_records(first, n, out);
    std::uint32_t heads[kMaxGroupRecords];
    iovec iov[2 * kMaxGroupRecords];
    for (std::size_t i = 0; i < n; ++i) {
      iov[2 * i] = {&heads[i], 4};
      iov[2 * i + 1] = {out + i * dim_, dim_ * 4};
    }
    const ssize_t want = static_cast<ssize_t>(n * record_bytes_);
    if (::preadv(fileno(f_), iov, static_cast<int>(2 * n), static_cast<off_t>(offset_of(first))) != want) {
      return VectorReader::read_records(first, n, out);  // short read: the plain path says why
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (heads[i] != dim_) {
        throw bad(path_, "record " + std::to_string(first + i + 1) + " has dimension " +
                             std::to_string(heads[i]) + ", record 1 has " + std::to_string(dim_));
      }
    }
  }

  std::size_t elem_;
};

// IEEE binary16 to float: every half is exactly a float (subnormals become normal floats).
float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);  // Inf or NaN (read() then refuses the record)
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);  // rebias 15 -> 127
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal: shift the mantissa up until its leading 1 is the implicit bit
    exp = 113;
    while (!(man & 0x400u)) {
      man <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((man & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// .npy: a header naming dtype, order and shape, then the raw array. float32 is read as is;
// float64 (numpy's default) and float16 are converted, and say so (source_type()).
class NpyReader final : public VectorReader {
 public:
  NpyReader(const std::string& path, std::FILE* f) : VectorReader(path, f) {
    char pre[12];
    if (file_bytes_ < 10 || !pread_at(f_, 0, pre, 10) || std::memcmp(pre, "\x93NUMPY", 6) != 0) {
      throw bad(path_, "not a .npy file (no \\x93NUMPY magic)");
    }
    const int major = static_cast<unsigned char>(pre[6]);
    std::size_t header_len, pre_len;
    if (major == 1) {
      header_len = static_cast<unsigned char>(pre[8]) | (static_cast<unsigned char>(pre[9]) << 8);
      pre_len = 10;
    } else if (major == 2 || major == 3) {
      if (!pread_at(f_, 0, pre, 12)) throw bad(path_, "truncated .npy header");
      header_len = le32(pre + 8);
      pre_len = 12;
    } else {
      throw bad(path_, "unsupported .npy version " + std::to_string(major));
    }
    std::string header(header_len, '\0');
    if (header_len > (1u << 20) || !pread_at(f_, pre_len, header.data(), header_len)) {
      throw bad(path_, "truncated .npy header");
    }
    data_offset_ = pre_len + header_len;
    std::smatch m;
    const std::string descr =
        std::regex_search(header, m, std::regex("'descr'\\s*:\\s*'([^']*)'")) ? m[1].str() : std::string();
    if (descr == "<f4" || descr == "f4") {
      elem_ = 4;
    } else if (descr == "<f8" || descr == "f8") {
      elem_ = 8;
      source_type_ = "float64";
    } else if (descr == "<f2" || descr == "f2") {
      elem_ = 2;
      source_type_ = "float16";
    } else {
      throw bad(path_, "dtype must be little-endian float32, float64 or float16 ('<f4', '<f8', '<f2'); the header says " +
                           header);
    }
    if (std::regex_search(header, std::regex("'fortran_order'\\s*:\\s*True"))) {
      throw bad(path_, "Fortran-ordered arrays are not supported (save with order='C')");
    }
    if (!std::regex_search(header, m, std::regex("'shape'\\s*:\\s*\\(\\s*(\\d+)\\s*,\\s*(\\d+)\\s*,?\\s*\\)"))) {
      throw bad(path_, "the array must be 2-D (n, d); the header says " + header);
    }
    count_ = std::stoull(m[1]);
    dim_ = std::stoull(m[2]);
    if (dim_ == 0 || dim_ > 65536) throw bad(path_, "dimension " + std::to_string(dim_) + " (must be 1..65536)");
    record_bytes_ = dim_ * elem_;
    const std::uint64_t have = file_bytes_ - data_offset_;
    if (have < count_ * record_bytes_) {
      throw bad(path_, "truncated: the header promises " + std::to_string(count_) +
                           " records but record " + std::to_string(have / record_bytes_ + 1) +
                           " is incomplete");
    }
  }

 private:
  void decode(const char* raw, std::size_t n, std::uint64_t, float* out) const override {
    const std::size_t count = n * dim_;
    if (elem_ == 4) {
      std::memcpy(out, raw, count * 4);
    } else if (elem_ == 8) {
      // A double beyond float's range becomes Inf, which read() refuses naming the record.
      for (std::size_t i = 0; i < count; ++i) {
        double d;
        std::memcpy(&d, raw + i * 8, 8);
        out[i] = static_cast<float>(d);
      }
    } else {
      for (std::size_t i = 0; i < count; ++i) {
        std::uint16_t h;
        std::memcpy(&h, raw + i * 2, 2);
        out[i] = half_to_float(h);
      }
    }
  }
  std::uint64_t offset_of(std::uint64_t record) const override { return data_offset_ + record * record_bytes_; }
  // A float32 array needs no decoding: read it straight into `out`.
  void read_records(std::uint64_t first, std::size_t n, float* out) override {
    if (elem_ != 4) return VectorReader::read_records(first, n, out);
    const ssize_t want = static_cast<ssize_t>(n * record_bytes_);
    if (::pread(fileno(f_), out, static_cast<std::size_t>(want), static_cast<off_t>(offset_of(first))) != want) {
      VectorReader::read_records(first, n, out);
    }
  }
  std::uint64_t data_offset_ = 0;
  std::size_t elem_ = 4;
};

}  // namespace

std::string extension_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

VectorReader::VectorReader(std::string path, std::FILE* f) : path_(std::move(path)), f_(f) {
  std::fseek(f_, 0, SEEK_END);
  file_bytes_ = static_cast<std::uint64_t>(std::ftell(f_));
  std::fseek(f_, 0, SEEK_SET);
}

VectorReader::~VectorReader() {
  if (f_) std::fclose(f_);
}

std::unique_ptr<VectorReader> VectorReader::open(const std::string& path) {
  const std::string ext = extension_of(path);
  if (ext != "fvecs" && ext != "bvecs" && ext != "npy") {
    throw Error(ErrorCode::kInvalidArgument,
                path + ": unknown vector format '." + ext + "' (use .fvecs, .bvecs, .npy or .jsonl)");
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(ErrorCode::kNotFound, path + ": cannot open: " + std::strerror(errno));
  // If a subclass constructor throws, the base destructor has already closed `f`.
  if (ext == "npy") return std::make_unique<NpyReader>(path, f);
  return std::make_unique<FvecsReader>(path, f, ext == "bvecs" ? 1 : 4);
}

void VectorReader::seek(std::uint64_t record) { next_ = std::min(record, count_); }

void VectorReader::read_records(std::uint64_t first, std::size_t n, float* out) {
  buf_.resize(n * record_bytes_);
  if (!pread_at(f_, offset_of(first), buf_.data(), buf_.size())) {
    throw bad(path_, "read failed at record " + std::to_string(first + 1) + " (was the file changed?)");
  }
  decode(buf_.data(), n, first, out);
}

std::size_t VectorReader::read(std::size_t n, std::vector<float>* out) {
  n = static_cast<std::size_t>(std::min<std::uint64_t>(n, count_ - next_));
  if (n == 0) return 0;
  const std::size_t before = out->size();
  out->resize(before + n * dim_);
  float* o = out->data() + before;
  const std::size_t group = std::clamp<std::size_t>(kGroupBytes / record_bytes_, 1, kMaxGroupRecords);
  for (std::size_t done = 0; done < n;) {
    const std::size_t g = std::min(group, n - done);
    float* p = o + done * dim_;
    read_records(next_ + done, g, p);
    if (!detail::all_finite(p, g * dim_)) {
      std::size_t i = 0;
      while (std::isfinite(p[i])) ++i;
      throw bad(path_, "record " + std::to_string(next_ + done + i / dim_ + 1) + " holds a NaN or Inf (element " +
                           std::to_string(i % dim_) + ")");
    }
    done += g;
  }
  next_ += n;
  return n;
}

VecsWriter::VecsWriter(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
  if (!f_) throw Error(ErrorCode::kIOError, path + ": cannot create: " + std::strerror(errno));
}

VecsWriter::~VecsWriter() {
  if (f_) std::fclose(f_);
}

void VecsWriter::write_floats(const float* rows, std::size_t n, std::size_t dim) {
  const std::int32_t d = static_cast<std::int32_t>(dim);
  for (std::size_t i = 0; i < n; ++i) {
    if (std::fwrite(&d, 4, 1, f_) != 1 || std::fwrite(rows + i * dim, 4, dim, f_) != dim) {
      throw Error(ErrorCode::kIOError, path_ + ": write failed");
    }
  }
}

void VecsWriter::write_ints(const std::int32_t* rows, std::size_t n, std::size_t dim) {
  const std::int32_t d = static_cast<std::int32_t>(dim);
  for (std::size_t i = 0; i < n; ++i) {
    if (std::fwrite(&d, 4, 1, f_) != 1 || std::fwrite(rows + i * dim, 4, dim, f_) != dim) {
      throw Error(ErrorCode::kIOError, path_ + ": write failed");
    }
  }
}

void VecsWriter::close() {
  if (!f_) return;
  const bool ok = std::fflush(f_) == 0;
  const bool closed = std::fclose(f_) == 0;
  f_ = nullptr;
  if (!ok || !closed) throw Error(ErrorCode::kIOError, path_ + ": write failed");
}

}  // namespace engram::ingest
