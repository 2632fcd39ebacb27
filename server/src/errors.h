// errors.h — the wire form of errors, and the ONE table mapping engram::ErrorCode to HTTP.
//
// Every failure a handler can meet is either an engram::Error (thrown by the core) or an
// HttpError (thrown by the server itself: malformed JSON, wrong content type, limits, auth).
// error_response() turns either into {"error":{"code":"...","message":"..."}} with its status;
// nothing else in the server chooses an error status. The client maps the same table back
// (error_code_from_wire), so RemoteMemory throws the ErrorCode the embedded Memory would.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

#include <engram/error.h>

#include "http_message.h"

namespace engram::server {

// An error raised by the HTTP layer itself, not by the core.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }

 private:
  int status_;
  std::string code_;
};

// Shorthands for the HTTP-level failures.
[[noreturn]] void throw_bad_request(const std::string& message);         // 400 bad_request
[[noreturn]] void throw_invalid_argument(const std::string& message);    // 422 invalid_argument
[[noreturn]] void throw_too_large(const std::string& message);           // 413 payload_too_large

// The HTTP status for a core error code.
int http_status(ErrorCode code);

// A JSON error response: {"error":{"code":code,"message":message}}.
Response make_error(int status, const std::string& code, const std::string& message);

// Converts the exception being handled (call inside a catch block) into its error response.
Response error_response(std::exception_ptr error);

// Client side: the engram::ErrorCode a remote error maps back to.
ErrorCode error_code_from_wire(int status, const std::string& code);

}  // namespace engram::server
