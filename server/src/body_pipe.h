// body_pipe.h — a request body handed from the network to a handler thread while it arrives.
//
// Streaming routes (POST …/ingest) must not hold a whole body in memory: the network side reads
// the socket a piece at a time and write()s each piece here; the handler reads the pipe as a
// std::istream on its own thread. The pipe holds at most about `capacity` bytes: when write()
// says it is full, the network side stops reading the socket (TCP pushes back on the client)
// until the handler has drained half of it and `on_room` fires. Nothing here blocks the network
// side.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <streambuf>
#include <string>
#include <string_view>

namespace engram::server {

class BodyPipe {
 public:
  explicit BodyPipe(std::size_t capacity) : capacity_(capacity) {}

  // ---- network side (never blocks)
  // Called from the reading thread once the pipe has room again after write() returned false.
  void set_on_room(std::function<void()> on_room);
  // Appends `data`. Returns false when the pipe is full: read no more until on_room fires.
  bool write(std::string_view data);
  void close();                            // the body is complete
  void fail(std::exception_ptr reason);    // the body will not complete: read() throws `reason`

  // ---- handler side
  // Up to n bytes; blocks until some are there. 0 at the end of the body. Throws fail()'s reason.
  std::size_t read(char* out, std::size_t n);
  // The handler has its answer and reads no more: later writes are dropped.
  void abandon();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> pieces_;
  std::size_t front_used_ = 0;  // bytes of pieces_.front() already read
  std::size_t bytes_ = 0;       // unread bytes held
  const std::size_t capacity_;
  bool closed_ = false, abandoned_ = false, writer_waiting_ = false;
  std::exception_ptr error_;
  std::function<void()> on_room_;
};

// The handler's view of a pipe: a streambuf for std::istream. Give the istream
// exceptions(std::ios::badbit) so that a failed body surfaces as the pipe's error.
class BodyStreambuf : public std::streambuf {
 public:
  explicit BodyStreambuf(BodyPipe& pipe) : pipe_(pipe) {}

 protected:
  int_type underflow() override;

 private:
  BodyPipe& pipe_;
  char buffer_[64 * 1024];
};

}  // namespace engram::server
