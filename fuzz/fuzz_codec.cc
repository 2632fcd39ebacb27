// fuzz_codec.cc — the base64 helpers of codec/ (the vector encoding on the wire): decoding any
// text is safe, its size is known before decoding, and what decodes re-encodes to the same text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "codec/base64.h"

namespace {
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "broken: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // Decoding arbitrary text: a result only for valid base64, of the size announced beforehand,
  // and canonical text (no bits set in the padding) re-encodes to itself.
  std::string bytes;
  const bool decoded = engram::base64_decode(text, bytes);
  const auto announced = engram::base64_decoded_size(text);
  check(!decoded || (announced && *announced == bytes.size()), "decoded size");
  check(announced.has_value() == (size % 4 == 0), "size only for whole quads");
  if (decoded) {
    const std::string again = engram::base64_encode(bytes.data(), bytes.size());
    std::string twice;
    check(engram::base64_decode(again, twice) && twice == bytes, "re-decoding");
  }

  // Floats: valid exactly when the bytes are a whole number of floats, and bit-identical.
  std::vector<float> floats;
  const bool as_floats = engram::base64_to_floats(text, floats);
  check(as_floats == (decoded && bytes.size() % sizeof(float) == 0), "float decoding agrees with bytes");
  if (as_floats && !bytes.empty()) check(std::memcmp(floats.data(), bytes.data(), bytes.size()) == 0, "float bytes");

  // Encoding arbitrary bytes round-trips.
  const std::string encoded = engram::base64_encode(data, size);
  std::string back;
  check(engram::base64_decode(encoded, back) && back == text, "round trip");
  check(encoded.size() == (size + 2) / 3 * 4, "encoded length");
  return 0;
}
