// json_codec.h — JSON <-> engram types, and the two vector encodings. Request bodies are decoded
// by body_decoder.h; the readers here take its small scalar fields and build responses.
//
// Vector encodings (documented in docs/openapi.yaml):
//   * JSON:   "queries": [[0.1, 0.2, ...], ...]   one array of numbers per row.
//   * base64: "queries_b64": "AAAA..."            little-endian float32, row-major; the row count
//                                                  is bytes / (4 × the memory's dimension).
// A request gives each matrix in one of the two forms. Responses use the encoding the request
// asks for with "encoding": "json" | "base64" (or ?encoding= on GET); in base64 mode every float
// matrix in the response is a "<name>_b64" string, flattened row-major.
//
// Type errors in the request are 400 (bad_request); values of the right type that the core
// rejects (dimension, NaN, k) are left to the core, which throws kInvalidArgument (422).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <engram/engram.h>
#include <nlohmann/json.hpp>

#include "http_message.h"

namespace engram::server {

using json = nlohmann::json;

enum class Encoding { kJson, kBase64 };

// Serializes a JSON response body (invalid UTF-8 in payloads is replaced, never thrown on).
std::string dump(const json& j);
Response json_response(const json& j, int status = 200);

// The response encoding requested by `body` ("encoding") or, when absent, by ?encoding=.
Encoding response_encoding(const json& body, const Request& req);

// Writes `rows` × `cols` floats as `field` (nested arrays) or `field`_b64.
void put_matrix(json& out, const std::string& field, const float* data, std::size_t rows,
                std::size_t cols, Encoding enc);
// Writes rows × k × dim floats: [[[...]]] in JSON, flat in base64.
void put_tensor3(json& out, const std::string& field, const std::vector<float>& data,
                 std::size_t rows, std::size_t k, std::size_t dim, Encoding enc);
// rows × k ids as nested arrays; kNoSlot is written as -1.
json ids_to_json(const std::vector<SlotId>& ids, std::size_t rows, std::size_t k);
json payloads_to_json(const std::vector<std::string>& payloads, std::size_t rows, std::size_t k);

// Optional scalars with type checks (400 on a wrong type).
int get_int(const json& body, const std::string& field, int fallback);
float get_float(const json& body, const std::string& field, float fallback);
bool get_bool(const json& body, const std::string& field, bool fallback);
std::optional<std::string> get_string(const json& body, const std::string& field);
WriteOptions write_options(const json& body);
// "filter" (engram/filter.h): absent or null is no filter; a wrong filter is the core's
// kInvalidArgument (422), naming the condition.
Filter get_filter(const json& body);
// A payload given as a string (kept as is) or a JSON object (a structured payload, kept as its
// compact text); 400 for anything else. `what` names it in the error.
std::string payload_text(const json& v, const std::string& what);

// The fields of a memory's config (PUT /v1/memories/{name} and every "config" object).
extern const std::vector<const char*> kConfigFields;
json encode_config(const MemoryConfig& config);
// 400 for a field outside kConfigFields, so that a misspelt option is not silently ignored.
MemoryConfig decode_config(const json& body);
json encode_stats(const MemoryStats& stats);
// A slot as {"id", "payload", "key", "value", "external_id"}: key and value left out when the
// slot has none (a scroll page that did not ask), external_id when it has none.
json encode_slot(const Slot& slot, Encoding enc);
Slot decode_slot(const json& j);  // the client's inverse (either encoding)

// Caller's ids: integers >= 0 and strings, as JSON. `field` names them in a 400 for anything
// else, or for more than `max` of them.
std::vector<ExternalId> external_ids_from_json(const json& list, const std::string& field, std::size_t max);
json external_id_to_json(const ExternalId& id);

}  // namespace engram::server
