// body_decoder.h — request bodies decoded in one pass, every limit checked as the text reaches it.
//
// Why not json::parse: a DOM costs about 16 bytes per JSON value plus an allocation per array,
// and the limits could only be looked at once it was built, so a 64 MiB body of empty rows
// ([[],[],...]) or empty strings cost the server over 1 GB before it was refused. Instead each
// handler names the fields it takes and how (a Schema), and decode_body() parses the body with
// nlohmann's SAX interface, putting each value straight where it belongs:
//   * a float matrix ("queries", "keys", "values") goes into one float buffer; its rows must
//     agree in width as they arrive (the first that does not is a 422 naming the field), a row
//     wider than any memory's dimension is refused, and a row beyond max_batch aborts the parse
//     at once with 413 batch_too_large. "<name>_b64" is decoded straight into the same buffer,
//     its row count checked before anything is allocated;
//   * an array of strings, ids or objects is counted against max_batch as it arrives (an object
//     among strings — a structured payload — is built alone and kept as its JSON text);
//   * a free-form value ("filter") is built as a json value, level by level;
//   * a nested object ("params") is decoded with its own schema, into its own Fields;
//   * a scalar field becomes a small json value, so the field readers in json_codec.h keep their
//     type checks and messages (an array or object given for a scalar is skipped, not built, and
//     kept as an empty one so that the type check still refuses it);
//   * a field the schema does not name, the same field twice, or nesting deeper than any schema
//     needs is refused at once (400).
// Nothing is reserved from a count the client sent. The one reservation (a matrix's rows, once
// its first row gives the width) is bounded by the body's length, so the floats of a body take
// at most 2× its text (a number is at least 2 bytes: "0,") and the buffer never grows by copying.
// The body string itself stays with the caller: decoding adds at most ~2× its size.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <engram/engram.h>
#include <nlohmann/json.hpp>

namespace engram::server {

using json = nlohmann::json;

// A dense row-major matrix decoded from a request.
struct Matrix {
  std::vector<float> data;
  std::size_t rows = 0;
  std::size_t cols = 0;
  MatrixView view() const { return MatrixView(data.data(), rows, cols); }
};

enum class FieldKind { kScalar, kMatrix, kFloats, kStrings, kIds, kObjects, kObject, kJson };

// One field a request object may hold, and how its value is decoded.
struct Field {
  std::string name;
  FieldKind kind = FieldKind::kScalar;
  std::size_t dim = 0;                          // kMatrix: the row width "<name>_b64" is split by
  const std::vector<Field>* element = nullptr;  // kObjects, kObject: the fields of an object

  // A number, string, true, false or null.
  static Field scalar(const char* name) { return {name}; }
  // [[numbers], ...] rows of one width, or "<name>_b64": base64 float32 split into rows of dim.
  static Field matrix(const char* name, int dim) {
    return {name, FieldKind::kMatrix, static_cast<std::size_t>(dim > 0 ? dim : 0)};
  }
  // [numbers] or "<name>_b64"; null is the same as absent.
  static Field floats(const char* name) { return {name, FieldKind::kFloats}; }
  // [strings]; null is the same as absent. Counted against max_batch. An element that is a JSON
  // object (a structured payload) is kept as its compact JSON text.
  static Field strings(const char* name) { return {name, FieldKind::kStrings}; }
  // Any JSON value, kept whole in Fields::scalars (a filter): small by nature, and bounded by
  // the body's size and nesting limit.
  static Field any(const char* name) { return {name, FieldKind::kJson}; }
  // [non-negative integers]. Counted against max_batch.
  static Field ids(const char* name) { return {name, FieldKind::kIds}; }
  // [objects], each decoded with `element` (which must outlive the decoding). Counted.
  static Field objects(const char* name, const std::vector<Field>* element) {
    return {name, FieldKind::kObjects, 0, element};
  }
  // One object, decoded with `element` (which must outlive the decoding); null is the same as
  // absent.
  static Field object(const char* name, const std::vector<Field>* element) {
    return {name, FieldKind::kObject, 0, element};
  }
};
using Schema = std::vector<Field>;

// A decoded JSON object: the fields of its schema that the body gave.
class Fields {
 public:
  // The scalar fields given, for get_int() and friends (json_codec.h).
  json scalars = json::object();

  // The matrix `name` from either encoding; 400 if it is missing.
  Matrix take_matrix(const std::string& name);
  // Nothing if absent or null.
  std::optional<std::vector<float>> take_floats(const std::string& name);
  // Empty if absent or null.
  std::vector<std::string> take_strings(const std::string& name);
  // 400 if missing.
  std::vector<SlotId> take_ids(const std::string& name);
  // Nothing if absent.
  std::optional<std::vector<SlotId>> take_ids_if_given(const std::string& name);
  std::vector<Fields> take_objects(const std::string& name);
  // Nothing if absent or null.
  std::optional<Fields> take_object(const std::string& name);

 private:
  friend class BodyDecoder;
  std::map<std::string, Matrix> matrices_;
  std::map<std::string, std::vector<float>> floats_;
  std::map<std::string, std::vector<std::string>> strings_;
  std::map<std::string, std::vector<SlotId>> ids_;
  std::map<std::string, std::vector<Fields>> objects_;
  std::map<std::string, std::vector<Fields>> object_;  // one each (a vector: Fields is incomplete here)
};

// Decodes `body`, which must be a JSON object of `schema`'s fields. Throws HttpError: 400 for
// text that is not JSON, not an object, an unknown or repeated field, a value of the wrong type;
// 413 batch_too_large for more than max_batch rows or entries in one field; 422 for rows of
// different widths, a row wider than any memory's, base64 data that does not split into rows.
Fields decode_body(const std::string& body, const Schema& schema, std::size_t max_batch);

}  // namespace engram::server
