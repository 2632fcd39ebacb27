// base64.h — RFC 4648 base64 (standard alphabet, '=' padding), for float32 vectors on the wire.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace engram {

std::string base64_encode(const void* data, std::size_t bytes);

// Decodes `text` into `out` (replacing its contents). Returns false for characters outside the
// alphabet or a length that is not a multiple of 4. Whitespace is not accepted.
bool base64_decode(std::string_view text, std::string& out);

// The number of bytes `text` decodes to, from its length and padding alone (nothing is decoded),
// so that a caller can refuse a too large value before allocating for it. Nothing when the
// length is not a multiple of 4. The characters are checked only by decoding.
std::optional<std::size_t> base64_decoded_size(std::string_view text);

// Float helpers: the wire format is little-endian IEEE-754 float32, row-major. Every platform
// Engram builds on is little-endian (checked at compile time in base64.cc), so these are copies.
std::string floats_to_base64(const float* data, std::size_t count);
// Returns false if `text` is not valid base64 or its byte length is not a multiple of 4. Decodes
// straight into `out` (no intermediate copy of the bytes).
bool base64_to_floats(std::string_view text, std::vector<float>& out);

}  // namespace engram
