#include "body_decoder.h"

#include <set>

#include "codec/base64.h"
#include "errors.h"

namespace engram::server {

namespace {

// No memory has wider rows (MemoryConfig: dimensions are 1..65536): a wider row is refused as it
// arrives instead of being buffered.
constexpr std::size_t kMaxRowWidth = 65536;
// The deepest value any schema takes is a patch's key (4 levels: body, patches, patch, key);
// anything much deeper is refused rather than walked.
constexpr std::size_t kMaxDepth = 64;
// Field names echoed in errors are cut to this many bytes (an unknown name may be megabytes).
constexpr std::size_t kEchoBytes = 64;

std::string shown(const std::string& name) {
  if (name.size() <= kEchoBytes) return "\"" + name + "\"";
  return "\"" + name.substr(0, kEchoBytes) + "...\"";
}

[[noreturn]] void too_many(const std::string& what, const std::string& rows, std::size_t max) {
  throw HttpError(413, "batch_too_large",
                  what + " has " + rows + " rows; the server accepts at most " + std::to_string(max));
}

}  // namespace

// The SAX handler (the interface of nlohmann::json::sax_parse). Each nesting level of the body is
// one Level on a stack; a value is checked against the level it arrives in. Errors are thrown
// (HttpError) straight out of the parse; parse_error() only reports text that is not JSON.
class BodyDecoder {
 public:
  BodyDecoder(const Schema& schema, std::size_t max_batch, std::size_t text_bytes, Fields* out)
      : root_schema_(schema), max_batch_(max_batch), text_bytes_(text_bytes), out_(out) {
    stack_.reserve(kMaxDepth);  // no reallocation: a Level& stays valid across push()
  }

  bool null() { return atom(json()); }
  bool boolean(bool v) { return atom(json(v)); }
  bool number_integer(json::number_integer_t v) { return atom(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return atom(json(v)); }
  bool number_float(json::number_float_t v, const std::string&) { return atom(json(v)); }
  bool binary(json::binary_t&) { return atom(json(json::value_t::binary)); }
  bool string(std::string& s);
  bool start_object(std::size_t);
  bool key(std::string& k);
  bool end_object() { return pop(); }
  bool start_array(std::size_t);
  bool end_array() { return pop(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  enum class Kind { kObject, kSkip, kRows, kRow, kFloats, kStrings, kIds, kObjects, kJson };
  struct Level {
    Kind kind;
    const Field* field = nullptr;  // the field whose value this level is (null for the body)
    std::size_t count = 0;         // rows, numbers of a row, or entries so far
    // kObject
    const Schema* schema = nullptr;
    Fields* fields = nullptr;
    const Field* pending = nullptr;  // the field whose value comes next, after its key
    bool pending_b64 = false;
    std::set<std::string> seen;      // keys given so far (at most the schema's)
    // the container being filled
    Matrix* matrix = nullptr;
    std::vector<float>* floats = nullptr;
    std::vector<std::string>* strings = nullptr;
    std::vector<SlotId>* ids = nullptr;
    std::vector<Fields>* objects = nullptr;
    // kJson: the object or array being built, and the key of its next member
    json* value = nullptr;
    std::string member;
    // kStrings: an object element being built, kept as its text when it ends
    json element;
  };

  [[noreturn]] static void bad(const std::string& message) { throw_bad_request(message); }
  static std::string name_of(const Level& l) { return shown(l.field->name); }

  Level& push(Kind kind, const Field* field) {
    if (stack_.size() == kMaxDepth)
      bad("the body nests deeper than " + std::to_string(kMaxDepth) + " levels");
    stack_.push_back(Level{kind, field});
    return stack_.back();
  }
  bool pop();
  bool atom(json&& v);
  bool open_json(json&& empty);
  bool opens_json() const;
  void field_value(Level& object, json&& v);
  void count(Level& l, std::size_t* n);
  void row_number(Level& row, const json& v);
  void end_row(Level& row);
  void matrix_b64(const Field& f, const std::string& text, Fields* fields);
  void floats_b64(const Field& f, const std::string& text, Fields* fields);
  // Whether the level the next value arrives in keeps it as a scalar (or skips it).
  bool takes_scalar() const {
    const Level& top = stack_.back();
    return top.kind == Kind::kSkip ||
           (top.kind == Kind::kObject && top.pending && top.pending->kind == FieldKind::kScalar);
  }

  const Schema& root_schema_;
  const std::size_t max_batch_, text_bytes_;
  Fields* out_;
  std::vector<Level> stack_;
};

// A value that opens no container of its own (or one the level refuses, then this throws).
bool BodyDecoder::atom(json&& v) {
  if (stack_.empty()) bad("the body must be a JSON object");
  Level& top = stack_.back();
  switch (top.kind) {
    case Kind::kObject:
      field_value(top, std::move(v));
      break;
    case Kind::kSkip:
      break;
    case Kind::kRows:
      bad(name_of(top) + " must be an array of number arrays");
    case Kind::kRow:
      row_number(top, v);
      break;
    case Kind::kFloats:
      if (!v.is_number()) bad(name_of(top) + " must hold numbers only");
      if (top.floats->size() == kMaxRowWidth)
        throw_invalid_argument(name_of(top) + " has more than " + std::to_string(kMaxRowWidth) +
                               " numbers; no memory has a larger dimension");
      top.floats->push_back(v.get<float>());
      break;
    case Kind::kStrings:
      bad(name_of(top) + " must hold strings only");
    case Kind::kIds:
      if (!v.is_number_unsigned()) bad(name_of(top) + " must hold non-negative integers");
      count(top, &top.count);
      top.ids->push_back(v.get<SlotId>());
      break;
    case Kind::kObjects:
      bad(name_of(top) + " must hold objects only");
    case Kind::kJson:
      if (top.value->is_array()) top.value->push_back(std::move(v));
      else (*top.value)[top.member] = std::move(v);
      break;
  }
  return true;
}

// Opens an object or array inside a free-form value (or as one): a level that builds it.
bool BodyDecoder::open_json(json&& empty) {
  Level& top = stack_.back();
  json* target;
  const Field* field = top.field;
  if (top.kind == Kind::kJson) {
    if (top.value->is_array()) {
      top.value->push_back(std::move(empty));
      target = &top.value->back();  // stays put: its parent grows only after it is complete
    } else {
      target = &(*top.value)[top.member];
      *target = std::move(empty);
    }
  } else if (top.kind == Kind::kStrings) {  // a structured payload among strings
    count(top, &top.count);
    top.element = std::move(empty);
    target = &top.element;
  } else {  // the value of a kJson field
    field = top.pending;
    top.pending = nullptr;
    target = &top.fields->scalars[field->name];
    *target = std::move(empty);
  }
  push(Kind::kJson, field).value = target;
  return true;
}

// Whether the next object or array opens (or belongs to) a free-form value.
bool BodyDecoder::opens_json() const {
  const Level& top = stack_.back();
  return top.kind == Kind::kJson ||
         (top.kind == Kind::kObject && top.pending && top.pending->kind == FieldKind::kJson && !top.pending_b64);
}

// The value of the field whose key came last, when it is not a container the field takes.
void BodyDecoder::field_value(Level& object, json&& v) {
  const Field& f = *object.pending;
  const bool b64 = object.pending_b64;
  object.pending = nullptr;
  const std::string name = shown(b64 ? f.name + "_b64" : f.name);
  switch (f.kind) {
    case FieldKind::kScalar:
      object.fields->scalars[f.name] = std::move(v);
      return;
    case FieldKind::kMatrix:
      bad(name + (b64 ? " must be a base64 string" : " must be an array of rows"));
    case FieldKind::kFloats:
      if (b64) bad(name + " is not base64 of float32 values");
      if (v.is_null()) return;  // the same as absent
      bad(name + " must be an array of numbers");
    case FieldKind::kStrings:
      if (v.is_null()) return;
      bad(name + " must be an array of strings");
    case FieldKind::kIds:
      bad(name + " must be an array of slot ids");
    case FieldKind::kObjects:
      bad(name + " must be an array of objects");
    case FieldKind::kObject:
      if (v.is_null()) return;
      bad(name + " must be an object");
    case FieldKind::kJson:
      object.fields->scalars[f.name] = std::move(v);
      return;
  }
}

void BodyDecoder::count(Level& l, std::size_t* n) {
  if (++*n > max_batch_) too_many(name_of(l), "more than " + std::to_string(max_batch_), max_batch_);
}

bool BodyDecoder::string(std::string& s) {
  if (!stack_.empty()) {
    Level& top = stack_.back();
    if (top.kind == Kind::kJson) return atom(json(std::move(s)));
    if (top.kind == Kind::kStrings) {
      count(top, &top.count);
      top.strings->push_back(std::move(s));  // moved out of the parser's buffer, not copied
      return true;
    }
    if (top.kind == Kind::kObject && top.pending) {
      const Field& f = *top.pending;
      if (f.kind == FieldKind::kScalar || f.kind == FieldKind::kJson) {
        top.pending = nullptr;
        top.fields->scalars[f.name] = std::move(s);
        return true;
      }
      if (top.pending_b64 && (f.kind == FieldKind::kMatrix || f.kind == FieldKind::kFloats)) {
        top.pending = nullptr;
        if (f.kind == FieldKind::kMatrix) matrix_b64(f, s, top.fields);
        else floats_b64(f, s, top.fields);
        return true;
      }
    }
  }
  return atom(json(json::value_t::string));  // a string where none belongs: the level's error
}

bool BodyDecoder::start_object(std::size_t) {
  if (stack_.empty()) {
    Level& body = push(Kind::kObject, nullptr);
    body.schema = &root_schema_;
    body.fields = out_;
    return true;
  }
  if (opens_json()) return open_json(json::object());
  if (stack_.back().kind == Kind::kStrings) return open_json(json::object());
  if (takes_scalar()) {
    atom(json::object());  // an empty object stands in for it: the field's type check refuses it
    push(Kind::kSkip, nullptr);
    return true;
  }
  Level& top = stack_.back();
  if (top.kind == Kind::kObject && top.pending && top.pending->kind == FieldKind::kObject &&
      !top.pending_b64) {
    const Field& f = *top.pending;
    top.pending = nullptr;
    std::vector<Fields>& slot = top.fields->object_[f.name];  // empty: a key comes only once
    slot.emplace_back();
    Fields* nested = &slot.back();  // stays put: nothing more is added to this vector
    Level& object = push(Kind::kObject, &f);
    object.schema = f.element;
    object.fields = nested;
    return true;
  }
  if (top.kind != Kind::kObjects) return atom(json::object());  // throws: no object belongs here
  count(top, &top.count);
  top.objects->emplace_back();
  Fields* element = &top.objects->back();  // stays put: the list grows only after this element
  Level& object = push(Kind::kObject, top.field);
  object.schema = top.field->element;
  object.fields = element;
  return true;
}

bool BodyDecoder::key(std::string& k) {
  Level& top = stack_.back();
  if (top.kind == Kind::kSkip) return true;
  if (top.kind == Kind::kJson) {
    top.member = std::move(k);
    return true;
  }
  const Field* field = nullptr;
  bool b64 = false;
  for (const Field& f : *top.schema) {
    if (k == f.name) {
      field = &f;
    } else if ((f.kind == FieldKind::kMatrix || f.kind == FieldKind::kFloats) &&
               k.size() == f.name.size() + 4 && k.compare(0, f.name.size(), f.name) == 0 &&
               k.compare(f.name.size(), 4, "_b64") == 0) {
      field = &f;
      b64 = true;
    }
    if (field) break;
  }
  if (!field) {
    if (top.field && top.field->kind == FieldKind::kObject)
      bad("unknown field " + shown(k) + " in " + shown(top.field->name));
    bad("unknown field " + shown(k));
  }
  if (!top.seen.insert(k).second) bad(shown(k) + " is given twice");
  if (top.seen.count(b64 ? field->name : field->name + "_b64"))
    bad("give \"" + field->name + "\" or \"" + field->name + "_b64\", not both");
  top.pending = field;
  top.pending_b64 = b64;
  return true;
}

bool BodyDecoder::start_array(std::size_t) {
  if (stack_.empty()) bad("the body must be a JSON object");
  if (opens_json()) return open_json(json::array());
  if (takes_scalar()) {
    atom(json::array());
    push(Kind::kSkip, nullptr);
    return true;
  }
  Level& top = stack_.back();
  if (top.kind == Kind::kRows) {  // a row
    count(top, &top.matrix->rows);
    Matrix* m = top.matrix;
    push(Kind::kRow, top.field).matrix = m;
    return true;
  }
  if (top.kind != Kind::kObject || top.pending_b64) return atom(json::array());  // throws
  const Field& f = *top.pending;
  Fields& fields = *top.fields;
  top.pending = nullptr;
  switch (f.kind) {
    case FieldKind::kMatrix: {
      Matrix& m = fields.matrices_[f.name];
      m.cols = f.dim;  // what an empty matrix reports
      push(Kind::kRows, &f).matrix = &m;
      break;
    }
    case FieldKind::kFloats:
      push(Kind::kFloats, &f).floats = &fields.floats_[f.name];
      break;
    case FieldKind::kStrings:
      push(Kind::kStrings, &f).strings = &fields.strings_[f.name];
      break;
    case FieldKind::kIds:
      push(Kind::kIds, &f).ids = &fields.ids_[f.name];
      break;
    case FieldKind::kObjects:
      push(Kind::kObjects, &f).objects = &fields.objects_[f.name];
      break;
    case FieldKind::kObject:
      bad(shown(f.name) + " must be an object");
    case FieldKind::kScalar:
    case FieldKind::kJson:
      break;  // takes_scalar() and opens_json() handled them
  }
  return true;
}

bool BodyDecoder::pop() {
  Level& done = stack_.back();
  if (done.kind == Kind::kRow) end_row(done);
  if (done.kind == Kind::kFloats) done.floats->shrink_to_fit();
  const bool payload_object = done.kind == Kind::kJson && done.value == &stack_[stack_.size() - 2].element;
  stack_.pop_back();
  if (payload_object) {  // a structured payload ends: keep its text
    Level& strings = stack_.back();
    strings.strings->push_back(strings.element.dump());
    strings.element = json();
  }
  return true;
}

void BodyDecoder::row_number(Level& row, const json& v) {
  if (!v.is_number()) bad(name_of(row) + " must hold numbers only");
  Matrix& m = *row.matrix;
  ++row.count;
  if (m.rows == 1 && row.count > kMaxRowWidth) {
    throw_invalid_argument("the first row of " + name_of(row) + " has more than " +
                           std::to_string(kMaxRowWidth) + " numbers; no memory has a larger dimension");
  }
  if (m.rows > 1 && row.count > m.cols) {
    throw_invalid_argument("the rows of " + name_of(row) + " differ in length: row 1 has " +
                           std::to_string(m.cols) + " numbers, row " + std::to_string(m.rows) +
                           " has more");
  }
  m.data.push_back(v.get<float>());
}

void BodyDecoder::end_row(Level& row) {
  Matrix& m = *row.matrix;
  if (m.rows == 1) {
    m.cols = row.count;
    // Every row of this width takes at least 2 × width + 1 bytes of text ("[0,0]"), so the body
    // holds at most this many: reserving them bounds the buffer by 2× the text, never by a count
    // the client sent, and the rows that follow never make it grow by copying.
    if (m.cols > 0) m.data.reserve(std::min(max_batch_, text_bytes_ / (2 * m.cols + 1)) * m.cols);
  } else if (row.count != m.cols) {
    throw_invalid_argument("the rows of " + name_of(row) + " differ in length: row 1 has " +
                           std::to_string(m.cols) + " numbers, row " + std::to_string(m.rows) +
                           " has " + std::to_string(row.count));
  }
}

void BodyDecoder::matrix_b64(const Field& f, const std::string& text, Fields* fields) {
  const std::string name = shown(f.name + "_b64");
  const auto bytes = base64_decoded_size(text);
  if (!bytes || *bytes % sizeof(float) != 0) bad(name + " is not base64 of float32 values");
  const std::size_t floats = *bytes / sizeof(float);
  if (f.dim == 0 || floats % f.dim != 0)
    throw_invalid_argument(name + " holds " + std::to_string(floats) +
                           " floats, not a multiple of the dimension " + std::to_string(f.dim));
  // Counted from the text's length before anything is decoded.
  if (floats / f.dim > max_batch_) too_many(name, std::to_string(floats / f.dim), max_batch_);
  Matrix& m = fields->matrices_[f.name];
  m.cols = f.dim;
  m.rows = floats / f.dim;
  if (!base64_to_floats(text, m.data)) bad(name + " is not base64 of float32 values");
}

void BodyDecoder::floats_b64(const Field& f, const std::string& text, Fields* fields) {
  std::vector<float>& v = fields->floats_[f.name];
  if (!base64_to_floats(text, v)) bad(shown(f.name + "_b64") + " is not base64 of float32 values");
}

Fields decode_body(const std::string& body, const Schema& schema, std::size_t max_batch) {
  // nlohmann's lexer takes a NUL byte for the end of the input, so "{...}\0garbage" would parse
  // as its prefix; JSON text holds no raw NUL anywhere (in strings it must be escaped).
  if (const auto nul = body.find('\0'); nul != std::string::npos)
    throw_bad_request("the body is not valid JSON: a NUL byte at offset " + std::to_string(nul));
  Fields out;
  BodyDecoder decoder(schema, max_batch, body.size(), &out);
  if (!json::sax_parse(body, &decoder)) throw_bad_request("the body is not valid JSON");
  return out;
}

// ---- the field readers

Matrix Fields::take_matrix(const std::string& name) {
  auto it = matrices_.find(name);
  if (it == matrices_.end()) throw_bad_request("missing \"" + name + "\" (or \"" + name + "_b64\")");
  return std::move(it->second);
}

std::optional<std::vector<float>> Fields::take_floats(const std::string& name) {
  auto it = floats_.find(name);
  if (it == floats_.end()) return std::nullopt;
  return std::move(it->second);
}

std::vector<std::string> Fields::take_strings(const std::string& name) {
  auto it = strings_.find(name);
  return it == strings_.end() ? std::vector<std::string>{} : std::move(it->second);
}

std::vector<SlotId> Fields::take_ids(const std::string& name) {
  auto it = ids_.find(name);
  if (it == ids_.end()) throw_bad_request("missing \"" + name + "\"");
  return std::move(it->second);
}

std::optional<std::vector<SlotId>> Fields::take_ids_if_given(const std::string& name) {
  auto it = ids_.find(name);
  if (it == ids_.end()) return std::nullopt;
  return std::move(it->second);
}

std::vector<Fields> Fields::take_objects(const std::string& name) {
  auto it = objects_.find(name);
  if (it == objects_.end()) throw_bad_request("missing \"" + name + "\"");
  return std::move(it->second);
}

std::optional<Fields> Fields::take_object(const std::string& name) {
  auto it = object_.find(name);
  if (it == object_.end() || it->second.empty()) return std::nullopt;
  return std::move(it->second.front());
}

}  // namespace engram::server
