#include "ingest/jsonl_reader.h"

#include <cmath>
#include <string_view>

#include <nlohmann/json.hpp>

#include "codec/base64.h"

namespace engram::ingest {

namespace {
constexpr std::size_t kMaxDim = 65536;  // MemoryConfig: dimensions are 1..65536
constexpr std::size_t kBytesPerNumber = 32;
constexpr std::size_t kLineOverhead = 1u << 20;
}  // namespace

std::size_t default_max_line_bytes(std::size_t key_dim, std::size_t value_dim) {
  return kLineOverhead + kBytesPerNumber * ((key_dim ? key_dim : kMaxDim) + (value_dim ? value_dim : kMaxDim));
}

JsonlReader::JsonlReader(std::istream& in, std::string name, std::size_t key_dim, std::size_t value_dim,
                         std::size_t max_line_bytes)
    : in_(in), name_(std::move(name)), key_dim_(key_dim), value_dim_(value_dim), dims_given_(key_dim != 0),
      max_line_bytes_(max_line_bytes) {}

bool JsonlReader::read_line(std::size_t* length) {
  const std::size_t limit = max_line_bytes_ ? max_line_bytes_ : default_max_line_bytes(key_dim_, value_dim_);
  if (line_buf_size_ < limit + 1) {
    line_buf_.reset(new char[limit + 1]);
    line_buf_size_ = limit + 1;
  }
  // istream::getline stops at limit bytes (failbit) instead of growing a string without bound.
  in_.getline(line_buf_.get(), static_cast<std::streamsize>(limit + 1));
  const auto got = static_cast<std::size_t>(in_.gcount());  // bytes consumed, the '\n' included
  if (in_.bad()) throw Error(ErrorCode::kIOError, name_ + ": read failed");
  if (in_.fail() && !in_.eof()) {
    throw LineTooLong(name_ + ": line " + std::to_string(line_ + 1) + ": longer than " + std::to_string(limit) +
                      " bytes" + (max_line_bytes_ ? "" : " (the limit for records of these dimensions)") +
                      "; raise --max-line-bytes or send binary records");
  }
  if (got == 0 && in_.eof()) return false;
  ++line_;
  offset_ += got;
  *length = in_.eof() ? got : got - 1;  // at the end of the input no '\n' was consumed
  return true;
}

void JsonlReader::reset_position(std::uint64_t records, std::uint64_t offset, std::uint64_t line) {
  records_ = records;
  offset_ = offset;
  line_ = line;
}

bool JsonlReader::next(std::size_t max_rows, Batch* out) {
  out->keys.clear();
  out->values.clear();
  out->payloads.clear();
  out->external_ids.clear();
  out->missing_id = 0;
  out->rows = 0;
  bool any_payload = false;
  std::size_t length = 0;
  while (out->rows < max_rows && read_line(&length)) {
    const char* line = line_buf_.get();
    while (length > 0 && (line[length - 1] == '\r' || line[length - 1] == ' ' || line[length - 1] == '\t')) --length;
    const std::string_view text(line, length);
    if (text.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string where = name_ + ": line " + std::to_string(line_) + ": ";
    nlohmann::json rec = nlohmann::json::parse(line, line + length, nullptr, false);
    if (rec.is_discarded() || !rec.is_object()) throw MalformedRecord(where + "not a JSON object");
    for (const auto& [k, v] : rec.items()) {
      (void)v;
      if (k != "key" && k != "key_b64" && k != "value" && k != "value_b64" && k != "payload" && k != "id" &&
          k != "external_id")
        throw MalformedRecord(where + "unknown field \"" + k + "\"");
    }
    append(rec, "key", where, &key_dim_, &out->keys);
    append(rec, "value", where, &value_dim_, &out->values);
    std::string payload;
    if (auto p = rec.find("payload"); p != rec.end() && !p->is_null()) {
      payload = p->is_string() ? p->get<std::string>() : p->dump();
      any_payload = true;
    }
    out->payloads.push_back(std::move(payload));
    if (auto e = rec.find("external_id"); e != rec.end()) {
      if (e->is_number_unsigned()) out->external_ids.emplace_back(e->get<std::uint64_t>());
      else if (e->is_string()) out->external_ids.emplace_back(e->get<std::string>());
      else throw MalformedRecord(where + "\"external_id\" must be an integer >= 0 or a string");
    } else if (out->missing_id == 0) {
      out->missing_id = records_ + 1;
    }
    ++out->rows;
    ++records_;
  }
  if (!any_payload) out->payloads.clear();
  out->records_end = records_;
  out->offset_end = offset_;
  return out->rows > 0;
}

void JsonlReader::append(const nlohmann::json& rec, const char* field, const std::string& where,
                         std::size_t* dim, std::vector<float>* out) {
  const std::size_t before = out->size();
  const std::string b64_field = std::string(field) + "_b64";
  if (auto b64 = rec.find(b64_field); b64 != rec.end()) {
    if (rec.contains(field)) throw MalformedRecord(where + "both \"" + field + "\" and \"" + b64_field + "\"");
    std::vector<float> v;
    if (!b64->is_string() || !base64_to_floats(b64->get_ref<const std::string&>(), v))
      throw MalformedRecord(where + "\"" + b64_field + "\" is not base64 of float32 values");
    out->insert(out->end(), v.begin(), v.end());
  } else if (auto it = rec.find(field); it != rec.end() && it->is_array()) {
    for (const auto& x : *it) {
      if (!x.is_number()) throw MalformedRecord(where + "\"" + field + "\" must hold numbers only");
      out->push_back(x.get<float>());
    }
  } else {
    throw MalformedRecord(where + "missing \"" + field + "\" (an array of numbers) or \"" + b64_field + "\"");
  }
  const std::size_t got = out->size() - before;
  if (got == 0) throw Error(ErrorCode::kInvalidArgument, where + "\"" + field + "\" is empty");
  if (*dim != 0 && got != *dim) {
    throw Error(ErrorCode::kInvalidArgument, where + "\"" + field + "\" has " + std::to_string(got) +
                                                 " numbers, " + (dims_given_ ? "the memory's dimension is " : "the first record has ") +
                                                 std::to_string(*dim));
  }
  for (std::size_t i = before; i < out->size(); ++i)
    if (!std::isfinite((*out)[i])) throw Error(ErrorCode::kInvalidArgument, where + "\"" + field + "\" holds NaN or Inf");
  *dim = got;
}

}  // namespace engram::ingest
