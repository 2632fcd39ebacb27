// engram/remote_memory.h — a memory on an Engram server, behind the same interface as an
// embedded one.
//
//   engram::RemoteOptions opt;  opt.port = 8420;  opt.token = "...";
//   engram::RemoteDatabase db(opt);
//   auto mem = db.create_memory("facts", cfg);      // or db.memory("facts")
//   auto r = mem->read(engram::MatrixView(queries, 128), {.k = 32});
//
// Calls go over HTTP/1.1 keep-alive connections from a pool shared by every memory of the
// RemoteDatabase; vectors travel as base64 float32. Every method is thread-safe. Errors are the
// server's engram::Error codes (kInvalidArgument, kNotFound, ...), so code cannot tell a remote
// memory from an embedded one; a server that cannot be reached, that times out or that is
// shutting down is kUnavailable.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <engram/memory_interface.h>

namespace engram {

namespace detail {
class HttpClient;
}

struct RemoteOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8420;
  std::string token;  // sent as "Authorization: Bearer <token>" when not empty
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{60000};  // one request: send and whole response
  std::size_t max_idle_connections = 64;             // pooled keep-alive connections kept open
  // Pooled connections idle longer than this are dropped rather than reused; keep it below the
  // server's idle timeout (60 s by default) so a request rarely meets a connection the server
  // just closed. (When it does, the request is retried once on a new connection.)
  std::chrono::milliseconds pool_idle_timeout{30000};
};

class RemoteMemory final : public MemoryInterface {
 public:
  // Connects to the memory `name`: fetches its config. Throws kNotFound if the server has no
  // such memory, kUnavailable if the server cannot be reached.
  RemoteMemory(const RemoteOptions& options, const std::string& name);
  RemoteMemory(std::shared_ptr<detail::HttpClient> client, const std::string& name);
  ~RemoteMemory() override;

  const std::string& name() const { return name_; }

  // The config as fetched at construction (a memory's config never changes).
  MemoryConfig config() const override;
  std::vector<SlotId> insert(MatrixView keys, MatrixView values,
                             const std::vector<std::string>& payloads = {},
                             const WriteOptions& options = {}) override;
  std::vector<SlotId> insert(const std::vector<ExternalId>& ids, MatrixView keys, MatrixView values,
                             const std::vector<std::string>& payloads = {},
                             const WriteOptions& options = {}) override;
  std::vector<SlotId> upsert(const std::vector<ExternalId>& ids, MatrixView keys, MatrixView values,
                             const std::vector<std::string>& payloads = {},
                             const WriteOptions& options = {}) override;
  std::vector<SlotId> resolve(const std::vector<ExternalId>& ids) override;
  ScrollPage scroll(const ScrollOptions& options) override;
  void create_payload_index(const std::string& field) override;
  void drop_payload_index(const std::string& field) override;
  std::vector<std::string> payload_indexes() override;
  ReadResult read(MatrixView queries, const SearchOptions& options = {}) override;
  using MemoryInterface::retrieve;
  RetrieveResult retrieve(MatrixView queries, const SearchOptions& options) override;
  using MemoryInterface::write;
  WriteResult write(MatrixView queries, MatrixView values, const SearchOptions& search,
                    const WriteOptions& options = {}) override;
  SearchResult search(MatrixView queries, const SearchOptions& options = {}) override;
  std::vector<Slot> get(const std::vector<SlotId>& ids) override;
  void update(const std::vector<SlotPatch>& patches, const WriteOptions& options = {}) override;
  void erase(const std::vector<SlotId>& ids, const WriteOptions& options = {}) override;
  std::size_t erase_matching(const Filter& filter, const WriteOptions& options = {}) override;
  MemoryStats stats() override;

  // Snapshots this memory alone (a database holding only it) into `dir` inside the server's
  // snapshot root (a name, or an absolute path in it; empty: a new name from the time). Returns
  // the absolute path written; a dir outside the root is refused (kFailedPrecondition, HTTP 403).
  std::string snapshot(const std::string& dir = {});

 private:
  std::vector<SlotId> insert_keyed(const std::vector<ExternalId>& ids, MatrixView keys, MatrixView values,
                                   const std::vector<std::string>& payloads, const WriteOptions& options, bool upsert);
  std::shared_ptr<detail::HttpClient> client_;
  std::string name_;
  std::string base_;  // "/v1/memories/<name>"
  MemoryConfig config_;
};

// The server's memory collection.
class RemoteDatabase {
 public:
  explicit RemoteDatabase(const RemoteOptions& options);
  ~RemoteDatabase();

  // Throws kAlreadyExists, kInvalidArgument (bad name or config).
  std::shared_ptr<RemoteMemory> create_memory(const std::string& name, const MemoryConfig& config);
  // Throws kNotFound.
  std::shared_ptr<RemoteMemory> memory(const std::string& name);
  bool has_memory(const std::string& name);
  std::vector<std::string> list_memories();
  MemoryConfig describe(const std::string& name);
  void drop_memory(const std::string& name);
  // Snapshots the server's database into `dir` inside its snapshot root (as above). Returns the
  // absolute path written.
  std::string snapshot(const std::string& dir = {});
  // True if GET /v1/health answers 200.
  bool healthy();

 private:
  std::shared_ptr<detail::HttpClient> client_;
};

}  // namespace engram
