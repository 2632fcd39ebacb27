#include "index/index_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "engram/error.h"

namespace engram::index {
namespace {

constexpr char kMagic[8] = {'E', 'N', 'G', 'R', 'A', 'M', 'I', 'X'};
constexpr std::uint32_t kVersion = 2;  // 2: 64-bit XXH3 checksum
constexpr std::size_t kHeaderBytes = 8 + 4 + 8 + 8 + 8;

// The checksum is XXH3-64: ~20× faster than zlib's CRC-32 here, so verifying a large
// checkpoint costs far less than FAISS's own read of it.

template <typename T>
void append(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

void write_all(int fd, const void* data, std::size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::kIOError, "writing " + path + ": " + std::strerror(errno));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

namespace {

void pwrite_all(int fd, const void* data, std::size_t n, std::uint64_t offset, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::kIOError, "writing " + path + ": " + std::strerror(errno));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
    offset += static_cast<std::uint64_t>(w);
  }
}

// The payload's bytes, buffered into the file after the header.
class FileSink final : public ByteSink {
 public:
  FileSink(int fd, const std::string& path) : fd_(fd), path_(path) { buffer_.reserve(kBuffer); }
  void write(const void* data, std::size_t n) override {
    if (buffer_.size() + n > kBuffer) flush();
    if (n >= kBuffer) {
      write_all(fd_, data, n, path_);  // large blocks (FAISS's arrays) go straight to the file
    } else {
      const char* p = static_cast<const char*>(data);
      buffer_.insert(buffer_.end(), p, p + n);
    }
    position_ += n;
  }
  std::uint64_t position() const override { return position_; }
  void write_at(std::uint64_t position, const void* data, std::size_t n) override {
    flush();
    pwrite_all(fd_, data, n, kHeaderBytes + position, path_);
  }
  void flush() {
    write_all(fd_, buffer_.data(), buffer_.size(), path_);
    buffer_.clear();
  }

 private:
  static constexpr std::size_t kBuffer = 1 << 20;
  int fd_;
  const std::string& path_;
  std::vector<char> buffer_;
  std::uint64_t position_ = 0;
};

}  // namespace

void write_index_checkpoint(const std::string& path, std::uint64_t op_seq,
                            const std::function<void(ByteSink&)>& write_payload) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ErrorCode::kIOError, "creating " + tmp + ": " + std::strerror(errno));
  try {
    const std::string placeholder(kHeaderBytes, '\0');  // the header needs the payload's size and sum
    write_all(fd, placeholder.data(), placeholder.size(), tmp);
    FileSink sink(fd, tmp);
    write_payload(sink);
    sink.flush();
    const std::uint64_t bytes = sink.position();
    // The checksum reads the payload back through a mapping (its pages are in the page cache):
    // the payload was streamed out, and parts of it were patched after they were written.
    void* map = ::mmap(nullptr, kHeaderBytes + bytes, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (map == MAP_FAILED) throw Error(ErrorCode::kIOError, "cannot map " + tmp + ": " + std::strerror(errno));
    const std::uint64_t sum = XXH3_64bits(static_cast<const char*>(map) + kHeaderBytes, bytes);
    ::munmap(map, kHeaderBytes + bytes);
    std::string header(kMagic, sizeof kMagic);
    append(&header, kVersion);
    append(&header, op_seq);
    append(&header, bytes);
    append(&header, sum);
    pwrite_all(fd, header.data(), header.size(), 0, tmp);
    if (::fsync(fd) != 0) throw Error(ErrorCode::kIOError, "syncing " + tmp + ": " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    throw Error(ErrorCode::kIOError, "renaming " + tmp + ": " + std::strerror(errno));
  }
  fsync_dir(std::filesystem::path(path).parent_path().string());
}

void write_index_checkpoint(const std::string& path, const IndexCheckpoint& checkpoint) {
  write_index_checkpoint(path, checkpoint.op_seq, [&](ByteSink& out) {
    out.write(checkpoint.payload.data(), checkpoint.payload.size());
  });
}

MappedCheckpoint::MappedCheckpoint(MappedCheckpoint&& other) noexcept { *this = std::move(other); }

MappedCheckpoint& MappedCheckpoint::operator=(MappedCheckpoint&& other) noexcept {
  if (this != &other) {
    if (map_) ::munmap(map_, map_bytes_);
    map_ = std::exchange(other.map_, nullptr);
    map_bytes_ = std::exchange(other.map_bytes_, 0);
    op_seq_ = other.op_seq_;
  }
  return *this;
}

MappedCheckpoint::~MappedCheckpoint() {
  if (map_) ::munmap(map_, map_bytes_);
}

const std::uint8_t* MappedCheckpoint::payload() const { return static_cast<const std::uint8_t*>(map_) + kHeaderBytes; }
std::size_t MappedCheckpoint::payload_size() const { return map_bytes_ - kHeaderBytes; }

std::optional<MappedCheckpoint> read_index_checkpoint(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw Error(ErrorCode::kIOError, "cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw Error(ErrorCode::kIOError, "cannot stat " + path + ": " + std::strerror(errno));
  }
  const auto file_size = static_cast<std::size_t>(st.st_size);
  if (file_size < kHeaderBytes) {
    ::close(fd);
    throw Error(ErrorCode::kCorruption, path + " is not an Engram index checkpoint");
  }
  // MAP_POPULATE: the pages are (usually) in the page cache; map them all now rather than
  // fault them in one by one during the checksum pass.
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) throw Error(ErrorCode::kIOError, "cannot map " + path + ": " + std::strerror(errno));
  MappedCheckpoint cp;
  cp.map_ = map;
  cp.map_bytes_ = file_size;

  const char* header = static_cast<const char*>(map);
  if (std::memcmp(header, kMagic, sizeof kMagic) != 0) {
    throw Error(ErrorCode::kCorruption, path + " is not an Engram index checkpoint");
  }
  std::uint32_t version;
  std::uint64_t op_seq, bytes, sum;
  std::memcpy(&version, header + 8, 4);
  std::memcpy(&op_seq, header + 12, 8);
  std::memcpy(&bytes, header + 20, 8);
  std::memcpy(&sum, header + 28, 8);
  if (version != kVersion) {
    throw Error(ErrorCode::kCorruption, path + " has unknown version " + std::to_string(version));
  }
  if (file_size != kHeaderBytes + bytes) {
    throw Error(ErrorCode::kCorruption, path + " is truncated or has trailing bytes");
  }
  if (XXH3_64bits(cp.payload(), cp.payload_size()) != sum) {
    throw Error(ErrorCode::kCorruption, path + " fails its checksum");
  }
  cp.op_seq_ = op_seq;
  return cp;
}

}  // namespace engram::index
