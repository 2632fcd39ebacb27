#include "codec/base64.h"

#include <cstdint>

namespace engram {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the base64 vector encoding assumes a little-endian host");

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

struct DecodeTable {
  std::int8_t v[256];
  constexpr DecodeTable() : v() {
    for (int i = 0; i < 256; ++i) v[i] = -1;
    for (int i = 0; i < 64; ++i) v[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  }
};
constexpr DecodeTable kDecode;
}  // namespace

std::string base64_encode(const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.resize((bytes + 2) / 3 * 4);
  char* o = out.data();
  std::size_t i = 0;
  for (; i + 3 <= bytes; i += 3) {
    std::uint32_t n = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    *o++ = kAlphabet[(n >> 18) & 63];
    *o++ = kAlphabet[(n >> 12) & 63];
    *o++ = kAlphabet[(n >> 6) & 63];
    *o++ = kAlphabet[n & 63];
  }
  if (i < bytes) {
    std::uint32_t n = p[i] << 16;
    if (i + 1 < bytes) n |= p[i + 1] << 8;
    *o++ = kAlphabet[(n >> 18) & 63];
    *o++ = kAlphabet[(n >> 12) & 63];
    *o++ = i + 1 < bytes ? kAlphabet[(n >> 6) & 63] : '=';
    *o++ = '=';
  }
  return out;
}

std::optional<std::size_t> base64_decoded_size(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return 0;
  std::size_t pad = 0;
  if (text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  return text.size() / 4 * 3 - pad;
}

namespace {
// Decodes `text` (its length a multiple of 4) into `out`, which holds base64_decoded_size(text)
// bytes. False for a character outside the alphabet or misplaced padding.
bool decode_into(std::string_view text, char* out) {
  if (text.empty()) return true;
  std::size_t pad = 0;
  if (text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  char* o = out;
  const std::size_t full = text.size() / 4 - (pad ? 1 : 0);
  const auto* t = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t b = 0; b < full; ++b, t += 4) {
    int a = kDecode.v[t[0]], c = kDecode.v[t[1]], d = kDecode.v[t[2]], e = kDecode.v[t[3]];
    if ((a | c | d | e) < 0) return false;
    std::uint32_t n = (a << 18) | (c << 12) | (d << 6) | e;
    *o++ = static_cast<char>(n >> 16);
    *o++ = static_cast<char>(n >> 8);
    *o++ = static_cast<char>(n);
  }
  if (pad) {
    int a = kDecode.v[t[0]], c = kDecode.v[t[1]];
    int d = pad == 1 ? kDecode.v[t[2]] : 0;
    if ((a | c | d) < 0 || (pad == 1 ? t[3] != '=' : (t[2] != '=' || t[3] != '='))) return false;
    std::uint32_t n = (a << 18) | (c << 12) | (d << 6);
    *o++ = static_cast<char>(n >> 16);
    if (pad == 1) *o++ = static_cast<char>(n >> 8);
  }
  return true;
}
}  // namespace

bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  const auto size = base64_decoded_size(text);
  if (!size) return false;
  out.resize(*size);
  return decode_into(text, out.data());
}

std::string floats_to_base64(const float* data, std::size_t count) {
  return base64_encode(data, count * sizeof(float));
}

bool base64_to_floats(std::string_view text, std::vector<float>& out) {
  const auto size = base64_decoded_size(text);
  if (!size || *size % sizeof(float) != 0) return false;
  out.resize(*size / sizeof(float));
  return decode_into(text, reinterpret_cast<char*>(out.data()));
}

}  // namespace engram
