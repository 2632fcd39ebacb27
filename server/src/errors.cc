#include "errors.h"

#include <nlohmann/json.hpp>

namespace engram::server {

namespace {
// The single table. HTTP-only codes (bad_request, unauthenticated, ...) live in the HttpError
// throw sites' shorthands below and in the client's reverse map.
struct Row {
  ErrorCode code;
  int status;
};
constexpr Row kTable[] = {
    {ErrorCode::kInvalidArgument, 422},     // wrong dimension, NaN/Inf, bad k, bad config/name
    {ErrorCode::kNotFound, 404},            // unknown memory or slot
    {ErrorCode::kAlreadyExists, 409},       // memory name taken
    {ErrorCode::kFailedPrecondition, 409},  // e.g. search on an untrained IVF index
    {ErrorCode::kBusy, 503},                // folder locked: retry later
    {ErrorCode::kCorruption, 500},
    {ErrorCode::kIOError, 500},
    {ErrorCode::kUnavailable, 503},         // shutting down
    {ErrorCode::kNoSpace, 507},             // the disk is full (RFC 4918's Insufficient Storage)
    {ErrorCode::kInternal, 500},
};
}  // namespace

void throw_bad_request(const std::string& message) { throw HttpError(400, "bad_request", message); }
void throw_invalid_argument(const std::string& message) {
  throw HttpError(422, error_code_name(ErrorCode::kInvalidArgument), message);
}
void throw_too_large(const std::string& message) {
  throw HttpError(413, "payload_too_large", message);
}

int http_status(ErrorCode code) {
  for (const Row& row : kTable)
    if (row.code == code) return row.status;
  return 500;
}

Response make_error(int status, const std::string& code, const std::string& message) {
  Response res;
  res.status = status;
  // Messages may echo what the client sent (a metric, an index string, a field name): cut them,
  // so that refusing a huge value does not cost a second and third copy of it.
  constexpr std::size_t kMaxMessage = 1024;
  const std::string shown = message.size() <= kMaxMessage ? message : message.substr(0, kMaxMessage) + "...";
  nlohmann::json body = {{"error", {{"code", code}, {"message", shown}}}};
  res.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (status == 401) res.headers.emplace_back("WWW-Authenticate", "Bearer");
  return res;
}

Response error_response(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const HttpError& e) {
    return make_error(e.status(), e.code(), e.what());
  } catch (const Error& e) {
    return make_error(http_status(e.code()), error_code_name(e.code()), e.what());
  } catch (const nlohmann::json::exception& e) {
    // A JSON value of the wrong type slipped past the codecs' checks: still the caller's input.
    return make_error(400, "bad_request", e.what());
  } catch (const std::bad_alloc&) {
    return make_error(500, error_code_name(ErrorCode::kInternal), "out of memory");
  } catch (const std::exception& e) {
    return make_error(500, error_code_name(ErrorCode::kInternal), e.what());
  } catch (...) {
    return make_error(500, error_code_name(ErrorCode::kInternal), "unknown error");
  }
}

ErrorCode error_code_from_wire(int status, const std::string& code) {
  for (const Row& row : kTable)
    if (code == error_code_name(row.code)) return row.code;
  switch (status) {
    case 400: case 413: case 415: case 422: return ErrorCode::kInvalidArgument;
    case 404: case 405: return ErrorCode::kNotFound;
    case 401: case 403: return ErrorCode::kFailedPrecondition;
    case 409: return ErrorCode::kAlreadyExists;
    case 503: return ErrorCode::kUnavailable;
    default: return ErrorCode::kInternal;
  }
}

}  // namespace engram::server
