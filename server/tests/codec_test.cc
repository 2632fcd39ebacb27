// codec_test.cc — base64, the vector encodings, the router and the error table.
#include <gtest/gtest.h>

#include "body_decoder.h"
#include "codec/base64.h"
#include "errors.h"
#include "json_codec.h"
#include "router.h"

namespace engram::server {
namespace {

TEST(Base64, RoundTripsEveryLength) {
  for (std::size_t n = 0; n < 20; ++n) {
    std::string data;
    for (std::size_t i = 0; i < n; ++i) data += static_cast<char>(i * 37 + 11);
    std::string out;
    ASSERT_TRUE(base64_decode(base64_encode(data.data(), data.size()), out));
    EXPECT_EQ(out, data);
  }
  EXPECT_EQ(base64_encode("foobar", 6), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo", 2), "Zm8=");
  std::string out;
  EXPECT_FALSE(base64_decode("Zm9", out));
  EXPECT_FALSE(base64_decode("Zm$v", out));
  EXPECT_FALSE(base64_decode("Z===", out));
}

TEST(Base64, FloatsAreLittleEndian) {
  float one = 1.0f;  // 0x3F800000 -> bytes 00 00 80 3F
  EXPECT_EQ(floats_to_base64(&one, 1), "AACAPw==");
  std::vector<float> v;
  ASSERT_TRUE(base64_to_floats("AACAPw==", v));
  EXPECT_EQ(v, std::vector<float>{1.0f});
  EXPECT_FALSE(base64_to_floats("AACA", v));  // 3 bytes: not a float
  EXPECT_FALSE(base64_to_floats("AAC$PwAA", v));
}

// The decoded size comes from the length and padding alone, so a too large value can be refused
// before anything is allocated for it.
TEST(Base64, DecodedSizeWithoutDecoding) {
  for (std::size_t n = 0; n < 20; ++n) {
    const std::string text = base64_encode(std::string(n, 'x').data(), n);
    ASSERT_TRUE(base64_decoded_size(text).has_value());
    EXPECT_EQ(*base64_decoded_size(text), n);
  }
  EXPECT_FALSE(base64_decoded_size("AAA").has_value());
}

TEST(Codec, MatrixFromEitherEncoding) {
  const Schema schema = {Field::matrix("q", 2)};
  Matrix a = decode_body(R"({"q":[[1,2],[3,4]]})", schema, 100).take_matrix("q");
  EXPECT_EQ(a.rows, 2u);
  EXPECT_EQ(a.cols, 2u);
  std::vector<float> raw{1, 2, 3, 4};
  Matrix b = decode_body(json{{"q_b64", floats_to_base64(raw.data(), 4)}}.dump(), schema, 100).take_matrix("q");
  EXPECT_EQ(b.rows, 2u);
  EXPECT_EQ(a.data, b.data);
  EXPECT_THROW(decode_body(R"({"q":[[1,2]],"q_b64":""})", schema, 100), HttpError);
  json out;
  put_matrix(out, "r", raw.data(), 2, 2, Encoding::kBase64);
  EXPECT_EQ(out["r_b64"], floats_to_base64(raw.data(), 4));
}

TEST(Codec, IdsPadWithMinusOne) {
  json j = ids_to_json({1, kNoSlot, 3, 4}, 2, 2);
  EXPECT_EQ(j, json({{1, -1}, {3, 4}}));
}

TEST(Router, LiteralsBeatParametersAnd405ListsMethods) {
  Router r;
  Handler h = [](const Request&, const Params&) { return Response{}; };
  r.add("GET", "/v1/memories/{name}/slots/{id}", h);
  r.add("POST", "/v1/memories/{name}/read", h);
  r.add("GET", "/v1/memories/{name}", h);
  auto m = r.match("GET", "/v1/memories/a/slots/7");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.params.at("name"), "a");
  EXPECT_EQ(m.params.at("id"), "7");
  auto not_allowed = r.match("GET", "/v1/memories/a/read");
  EXPECT_EQ(not_allowed.handler, nullptr);
  EXPECT_EQ(not_allowed.allow, "POST");
  auto missing = r.match("GET", "/v2/x");
  EXPECT_EQ(missing.handler, nullptr);
  EXPECT_TRUE(missing.allow.empty());
  // HEAD is answered wherever GET is, and listed with it.
  auto head = r.match("HEAD", "/v1/memories/a");
  ASSERT_NE(head.handler, nullptr);
  EXPECT_EQ(head.route, "/v1/memories/{name}");
  EXPECT_EQ(r.match("HEAD", "/v1/memories/a/read").allow, "POST");
  EXPECT_EQ(r.match("DELETE", "/v1/memories/a").allow, "GET, HEAD");
}

TEST(Errors, OneTableBothWays) {
  EXPECT_EQ(http_status(ErrorCode::kInvalidArgument), 422);
  EXPECT_EQ(http_status(ErrorCode::kNotFound), 404);
  EXPECT_EQ(http_status(ErrorCode::kAlreadyExists), 409);
  EXPECT_EQ(http_status(ErrorCode::kUnavailable), 503);
  for (ErrorCode c : {ErrorCode::kInvalidArgument, ErrorCode::kNotFound, ErrorCode::kAlreadyExists,
                      ErrorCode::kFailedPrecondition, ErrorCode::kUnavailable, ErrorCode::kInternal})
    EXPECT_EQ(error_code_from_wire(http_status(c), error_code_name(c)), c);
  EXPECT_EQ(error_code_from_wire(400, "bad_request"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_code_from_wire(503, "unavailable"), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace engram::server
