#include "body_pipe.h"

#include <algorithm>
#include <cstring>

namespace engram::server {

void BodyPipe::set_on_room(std::function<void()> on_room) {
  std::lock_guard<std::mutex> lock(mu_);
  on_room_ = std::move(on_room);
}

bool BodyPipe::write(std::string_view data) {
  std::lock_guard<std::mutex> lock(mu_);
  if (abandoned_ || closed_ || error_) return true;  // nobody reads: keep the network side going
  if (!data.empty()) {
    pieces_.emplace_back(data);
    bytes_ += data.size();
    cv_.notify_all();
  }
  if (bytes_ < capacity_) return true;
  writer_waiting_ = true;
  return false;
}

void BodyPipe::close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

void BodyPipe::fail(std::exception_ptr reason) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || error_) return;
  error_ = std::move(reason);
  cv_.notify_all();
}

void BodyPipe::abandon() {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    abandoned_ = true;
    pieces_.clear();
    bytes_ = 0;
    if (writer_waiting_) {
      writer_waiting_ = false;
      wake = on_room_;
    }
  }
  if (wake) wake();
}

std::size_t BodyPipe::read(char* out, std::size_t n) {
  std::function<void()> wake;
  std::size_t got = 0;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return bytes_ > 0 || closed_ || error_; });
    // Data that arrived before a failure is still a prefix of the body, but the body as a whole
    // is lost: fail now rather than let the handler treat a cut body as complete.
    if (error_) std::rethrow_exception(error_);
    while (got < n && !pieces_.empty()) {
      std::string& front = pieces_.front();
      const std::size_t take = std::min(n - got, front.size() - front_used_);
      std::memcpy(out + got, front.data() + front_used_, take);
      got += take;
      front_used_ += take;
      if (front_used_ == front.size()) {
        pieces_.pop_front();
        front_used_ = 0;
      }
    }
    bytes_ -= got;
    if (writer_waiting_ && bytes_ <= capacity_ / 2) {
      writer_waiting_ = false;
      wake = on_room_;
    }
  }
  if (wake) wake();
  return got;
}

BodyStreambuf::int_type BodyStreambuf::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  const std::size_t n = pipe_.read(buffer_, sizeof buffer_);
  if (n == 0) return traits_type::eof();
  setg(buffer_, buffer_, buffer_ + n);
  return traits_type::to_int_type(*gptr());
}

}  // namespace engram::server
