// handlers_ingest.cc — bulk load from newline-delimited JSON.
//
// Each line is {"key": [...] | "key_b64": "...", "value": [...] | "value_b64": "...",
// "payload": "..."}. Every line is checked (types, dimensions, finite numbers) before the first
// insert, so a bad line anywhere rejects the whole body and changes nothing; the rows then go
// in as inserts of at most max_batch rows each. The body is bounded by max_ingest_bytes.
#include <cmath>
#include <string_view>

#include "base64.h"
#include "errors.h"
#include "json_codec.h"
#include "service.h"

namespace engram::server {

namespace {
void append_vector(const json& rec, const std::string& field, std::size_t dim, std::size_t line,
                   std::vector<float>& out) {
  const std::string where = "line " + std::to_string(line) + ": ";
  std::size_t before = out.size();
  if (auto b64 = rec.find(field + "_b64"); b64 != rec.end()) {
    std::vector<float> v;
    if (!b64->is_string() || !base64_to_floats(b64->get_ref<const std::string&>(), v))
      throw_bad_request(where + "\"" + field + "_b64\" is not base64 of float32 values");
    out.insert(out.end(), v.begin(), v.end());
  } else if (auto plain = rec.find(field); plain != rec.end() && plain->is_array()) {
    for (const json& x : *plain) {
      if (!x.is_number()) throw_bad_request(where + "\"" + field + "\" must hold numbers only");
      out.push_back(x.get<float>());
    }
  } else {
    throw_bad_request(where + "missing \"" + field + "\" (an array of numbers) or \"" + field + "_b64\"");
  }
  if (out.size() - before != dim)
    throw_invalid_argument(where + "\"" + field + "\" has " + std::to_string(out.size() - before) +
                           " numbers; the memory's dimension is " + std::to_string(dim));
  for (std::size_t i = before; i < out.size(); ++i)
    if (!std::isfinite(out[i])) throw_invalid_argument(where + "\"" + field + "\" holds NaN or Inf");
}
}  // namespace

void add_ingest_routes(Router& router, Service& service) {
  router.add("POST", "/v1/memories/{name}/ingest", [&service](const Request& req, const Params& p) {
    auto mem = service.memory(p.at("name"));
    const MemoryConfig config = mem->config();
    const std::size_t kd = config.key_dim, vd = config.value_dim;

    std::vector<float> keys, values;
    std::vector<std::string> payloads;
    bool any_payload = false;
    std::string_view text(req.body);
    std::size_t line_no = 0;
    while (!text.empty()) {
      std::size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      ++line_no;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
      if (line.empty()) continue;
      json rec = json::parse(line, nullptr, false);
      if (rec.is_discarded() || !rec.is_object())
        throw_bad_request("line " + std::to_string(line_no) + " is not a JSON object");
      check_fields(rec, {"key", "key_b64", "value", "value_b64", "payload"});
      append_vector(rec, "key", kd, line_no, keys);
      append_vector(rec, "value", vd, line_no, values);
      auto payload = get_string(rec, "payload");
      any_payload = any_payload || payload.has_value();
      payloads.push_back(payload.value_or(""));
    }

    WriteOptions options;
    if (std::string s = req.query("sync"); !s.empty()) options.sync = s == "true" || s == "1";
    const std::size_t rows = payloads.size();
    const std::size_t chunk = std::max<std::size_t>(1, service.options().max_batch);
    std::size_t batches = 0;
    SlotId first = kNoSlot, last = kNoSlot;
    for (std::size_t begin = 0; begin < rows; begin += chunk, ++batches) {
      std::size_t n = std::min(chunk, rows - begin);
      std::vector<std::string> chunk_payloads;
      if (any_payload)
        chunk_payloads.assign(payloads.begin() + begin, payloads.begin() + begin + n);
      auto ids = mem->insert(MatrixView(keys.data() + begin * kd, n, kd),
                             MatrixView(values.data() + begin * vd, n, vd), chunk_payloads, options);
      if (first == kNoSlot && !ids.empty()) first = ids.front();
      if (!ids.empty()) last = ids.back();
    }
    json out = {{"inserted", rows}, {"batches", batches}};
    if (rows) {
      out["first_id"] = first;
      out["last_id"] = last;
    }
    return json_response(out);
  });
}

}  // namespace engram::server
