// body_decoder_test.cc — the bounded request decoder: values land where the schema says, and
// every limit is enforced at the value that breaks it, before the rest of the body is read.
//
// Several bodies below are cut off or broken AFTER the offending value: the expected refusal
// (413/422 rather than 400 "not valid JSON") proves the parse stopped at that value.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "body_decoder.h"
#include "codec/base64.h"
#include "errors.h"
#include "json_codec.h"

namespace engram::server {
namespace {

// The status and message of the HttpError decoding `body` throws (0 if it throws none).
std::pair<int, std::string> refusal(const std::string& body, const Schema& schema, std::size_t max_batch = 3) {
  try {
    decode_body(body, schema, max_batch);
  } catch (const HttpError& e) {
    return {e.status(), e.what()};
  }
  return {0, ""};
}

const Schema kRead = {Field::matrix("queries", 2), Field::scalar("k"), Field::scalar("encoding")};

TEST(BodyDecoder, MatrixScalarsAndStrings) {
  const Schema schema = {Field::matrix("keys", 2), Field::strings("payloads"), Field::scalar("sync")};
  Fields f = decode_body(R"({"keys":[[1,2],[3.5,-4]],"payloads":["a","b"],"sync":false})", schema, 10);
  Matrix m = f.take_matrix("keys");
  EXPECT_EQ(m.rows, 2u);
  EXPECT_EQ(m.cols, 2u);
  EXPECT_EQ(m.data, (std::vector<float>{1, 2, 3.5f, -4}));
  EXPECT_EQ(f.take_strings("payloads"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(f.scalars["sync"], false);
  // An empty matrix reports the memory's width; absent optional fields are empty.
  Fields e = decode_body(R"({"keys":[]})", schema, 10);
  EXPECT_EQ(e.take_matrix("keys").cols, 2u);
  EXPECT_TRUE(e.take_strings("payloads").empty());
  EXPECT_TRUE(decode_body(R"({"keys":[],"payloads":null})", schema, 10).take_strings("payloads").empty());
  EXPECT_EQ(refusal(R"({"k":1})", kRead).first, 0);
  EXPECT_THROW(decode_body(R"({"k":1})", kRead, 10).take_matrix("queries"), HttpError);
}

TEST(BodyDecoder, RowsBeyondTheBatchLimitStopTheParse) {
  auto [status, message] = refusal(R"({"queries":[[],[],[],[],[)", kRead);
  EXPECT_EQ(status, 413);
  EXPECT_NE(message.find("\"queries\" has more than 3 rows"), std::string::npos) << message;
  EXPECT_EQ(refusal(R"({"queries":[[1,2],[3,4],[5,6]]})", kRead).first, 0);
  // Strings, ids and objects are counted too.
  EXPECT_EQ(refusal(R"({"p":["","","","",)", {Field::strings("p")}).first, 413);
  EXPECT_EQ(refusal(R"({"ids":[1,2,3,4,)", {Field::ids("ids")}).first, 413);
  const Schema element = {Field::scalar("id")};
  EXPECT_EQ(refusal(R"({"o":[{},{},{},{},)", {Field::objects("o", &element)}).first, 413);
  // base64 rows are counted from the text's length, before decoding.
  std::vector<float> eight(8, 1.0f);
  const std::string b64 = floats_to_base64(eight.data(), eight.size());
  EXPECT_EQ(refusal("{\"queries_b64\":\"" + b64 + "\"}", kRead).first, 413);
  EXPECT_EQ(refusal("{\"queries_b64\":\"" + b64 + "\"}", kRead, 4).first, 0);
}

TEST(BodyDecoder, RowsMustAgreeAsTheyArrive) {
  auto [status, message] = refusal(R"({"queries":[[1,2],[3]],"k":[[[)", kRead);
  EXPECT_EQ(status, 422);
  EXPECT_NE(message.find("the rows of \"queries\" differ in length: row 1 has 2 numbers, row 2 has 1"),
            std::string::npos) << message;
  // A longer row is refused at the number that makes it longer.
  std::tie(status, message) = refusal(R"({"queries":[[1,2],[3,4,5)", kRead);
  EXPECT_EQ(status, 422);
  EXPECT_NE(message.find("row 2 has more"), std::string::npos) << message;
  // Empty rows after a wide one: 422, not rows × width floats reserved.
  EXPECT_EQ(refusal(R"({"queries":[[1,2,3,4,5,6],[],[],[)", kRead, 1000000).first, 422);
  // No memory is wider than 65536: a wider first row is refused without buffering it whole.
  std::string wide = R"({"queries":[[)";
  for (int i = 0; i < 65537; ++i) wide += "0,";
  std::tie(status, message) = refusal(wide, kRead);
  EXPECT_EQ(status, 422);
  EXPECT_NE(message.find("more than 65536 numbers"), std::string::npos) << message;
}

TEST(BodyDecoder, TypeErrorsAre400) {
  for (const char* body : {R"({"queries":[["a"]]})", R"({"queries":[1]})", R"({"queries":{}})",
                           R"({"queries":null})", R"({"queries":[[[1]]]})", R"({"queries_b64":[]})",
                           R"({"queries_b64":"!!!!!!!!"})", R"({"colour":1})", R"([1,2])", "5", "",
                           R"({"k":1,"k":2})", R"({"queries":[[1,2]],"queries_b64":""})", "{} x"}) {
    SCOPED_TRACE(body);
    EXPECT_EQ(refusal(body, kRead).first, 400);
  }
  EXPECT_EQ(refusal(R"({"ids":[-1]})", {Field::ids("ids")}).first, 400);
  EXPECT_EQ(refusal(R"({"ids":[1.5]})", {Field::ids("ids")}).first, 400);
  EXPECT_EQ(refusal(R"({"ids":null})", {Field::ids("ids")}).first, 400);
  EXPECT_EQ(refusal(R"({"p":[1]})", {Field::strings("p")}).first, 400);
  EXPECT_EQ(refusal(R"({"key":"x"})", {Field::floats("key")}).first, 400);
}

// A container given for a scalar field is walked, not built: an empty one stands in for it so
// that the field reader's own type check refuses it, as it did when the body was a DOM.
TEST(BodyDecoder, ContainersForScalarsAreSkipped) {
  Fields f = decode_body(R"({"k":[[1,2],{"a":[3]}],"encoding":{"x":1}})", kRead, 10);
  EXPECT_EQ(f.scalars["k"], json::array());
  EXPECT_EQ(f.scalars["encoding"], json::object());
  EXPECT_THROW(get_int(f.scalars, "k", 0), HttpError);
  // ...but not to any depth.
  const std::string deep = R"({"k":)" + std::string(100, '[') + std::string(100, ']') + "}";
  auto [status, message] = refusal(deep, kRead);
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("nests deeper"), std::string::npos) << message;
}

TEST(BodyDecoder, ObjectsAndVectors) {
  const Schema patch = {Field::scalar("id"), Field::floats("key"), Field::scalar("payload")};
  const Schema schema = {Field::objects("patches", &patch)};
  std::vector<float> key{1, 2};
  Fields f = decode_body(R"({"patches":[{"id":1,"key":[1,2]},{"id":2,"key_b64":")" +
                             floats_to_base64(key.data(), 2) + R"(","payload":"p"},{"id":3,"key":null}]})",
                         schema, 10);
  auto patches = f.take_objects("patches");
  ASSERT_EQ(patches.size(), 3u);
  EXPECT_EQ(patches[0].take_floats("key"), key);
  EXPECT_EQ(patches[1].take_floats("key"), key);
  EXPECT_EQ(patches[1].scalars["payload"], "p");
  EXPECT_FALSE(patches[2].take_floats("key").has_value());
  EXPECT_EQ(refusal(R"({"patches":[{"id":1,"colour":2}]})", schema).first, 400);
  EXPECT_EQ(refusal(R"({"patches":[1]})", schema).first, 400);
}

// Errors quote a field name, never a megabyte of it.
TEST(BodyDecoder, ANestedObjectIsDecodedWithItsOwnSchema) {
  const Schema params = {Field::scalar("ef"), Field::scalar("nprobe")};
  const Schema schema = {Field::matrix("queries", 2), Field::object("params", &params)};
  Fields f = decode_body(R"({"params":{"ef":64,"nprobe":"x"},"queries":[[1,2]]})", schema, 10);
  std::optional<Fields> p = f.take_object("params");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->scalars["ef"], 64);
  EXPECT_EQ(p->scalars["nprobe"], "x");  // the type is the reader's to check
  EXPECT_EQ(f.take_matrix("queries").rows, 1u);
  EXPECT_FALSE(decode_body(R"({"queries":[]})", schema, 10).take_object("params").has_value());
  EXPECT_FALSE(decode_body(R"({"queries":[],"params":null})", schema, 10).take_object("params").has_value());
  EXPECT_TRUE(decode_body(R"({"queries":[],"params":{}})", schema, 10).take_object("params").has_value());
  auto [status, message] = refusal(R"({"params":{"efSearch":64}})", schema);
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("unknown field \"efSearch\" in \"params\""), std::string::npos) << message;
  for (const char* body : {R"({"params":64})", R"({"params":"ef"})", R"({"params":[{"ef":1}]})", R"({"params":true})",
                           R"({"params":{"ef":1,"ef":2}})", R"({"params":{},"params":{}})",
                           R"({"params":{"queries":[[1,2]]}})"}) {
    EXPECT_EQ(refusal(body, schema).first, 400) << body;
  }
}

TEST(BodyDecoder, EchoedNamesAreCut) {
  const std::string body = "{\"" + std::string(1 << 20, 'x') + "\":1}";
  auto [status, message] = refusal(body, kRead);
  EXPECT_EQ(status, 400);
  EXPECT_LT(message.size(), 200u);
}

}  // namespace
}  // namespace engram::server
