// ui_handler_test.cc — the console's files (/ui) and the model route (/v1/model/loss.csv) as
// the API serves them: types, caching, the token, --no-ui and --model. The pages themselves are
// tested in a browser (console_test.py).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "embedded_files.h"
#include "service.h"
#include "test_support.h"

namespace engram::server {
namespace {

using testing::make_request;
using testing::TempDir;

std::string header(const Response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return {};
}

class UiHandlerTest : public ::testing::Test {
 protected:
  void make_service(ServerOptions options) {
    service_.reset();
    options.data_dir = dir_.sub("data");
    service_ = std::make_unique<Service>(Database::open(options.data_dir), options);
  }
  Response get(const std::string& target, const std::string& token = {}, const std::string& etag = {}) {
    Request r = make_request("GET", target);
    if (!token.empty()) r.authorization = "Bearer " + token;
    r.if_none_match = etag;
    return service_->handle(r);
  }

  TempDir dir_;
  std::unique_ptr<Service> service_;
};

TEST_F(UiHandlerTest, EveryFileIsServedWithItsTypeAndNoToken) {
  ServerOptions o;
  o.token = "secret";
  make_service(o);
  ASSERT_GT(kEmbeddedFileCount, 0u);
  for (std::size_t i = 0; i < kEmbeddedFileCount; ++i) {
    const std::string name = kEmbeddedFiles[i].name;
    Response r = get("/ui/" + name);
    ASSERT_EQ(r.status, 200) << name << ": " << r.body;
    EXPECT_EQ(r.body, std::string(reinterpret_cast<const char*>(kEmbeddedFiles[i].data), kEmbeddedFiles[i].size));
    const std::string ext = name.substr(name.rfind('.'));
    const std::string want = ext == ".html" ? "text/html" : ext == ".css" ? "text/css" : ext == ".js" ? "text/javascript" : "?";
    EXPECT_EQ(r.content_type.rfind(want, 0), 0u) << name << " is " << r.content_type;
    EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
    EXPECT_NE(header(r, "Content-Security-Policy").find("default-src 'none'"), std::string::npos);
  }
  // The page itself at /ui and /ui/; the API still wants the token.
  EXPECT_EQ(get("/ui").status, 200);
  EXPECT_EQ(get("/ui/").body, get("/ui/index.html").body);
  EXPECT_EQ(get("/ui").content_type, "text/html; charset=utf-8");
  EXPECT_EQ(get("/v1/memories").status, 401);
  EXPECT_EQ(get("/ui/nothing.js").status, 404);
  EXPECT_EQ(get("/uix").status, 401);  // only /ui and below are open
}

TEST_F(UiHandlerTest, AnUnchangedFileIsA304WithoutBody) {
  make_service({});
  Response first = get("/ui/app.js");
  const std::string etag = header(first, "ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(header(first, "Cache-Control"), "no-cache");  // kept, but checked each time
  Response again = get("/ui/app.js", {}, etag);
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(header(again, "ETag"), etag);
  EXPECT_EQ(get("/ui/app.js", {}, "\"other\", " + etag).status, 304);  // one of a list
  EXPECT_EQ(get("/ui/app.js", {}, "\"other\"").status, 200);
  EXPECT_NE(header(get("/ui/api.js"), "ETag"), etag);  // another file, another tag
}

TEST_F(UiHandlerTest, NoUiServesNoneOfItAndLeavesTheApi) {
  ServerOptions o;
  o.ui = false;
  o.token = "secret";
  make_service(o);
  EXPECT_EQ(get("/ui").status, 401);  // not open any more: like any other path
  EXPECT_EQ(get("/ui", "secret").status, 404);
  EXPECT_EQ(get("/ui/app.js", "secret").status, 404);
  EXPECT_EQ(get("/v1/memories", "secret").status, 200);
}

TEST_F(UiHandlerTest, ModelLossCsvOnlyWithAModelFolder) {
  make_service({});
  EXPECT_EQ(get("/v1/model/loss.csv").status, 404);  // no --model: no route

  ServerOptions o;
  o.model_dir = dir_.sub("model");
  o.token = "secret";
  make_service(o);
  std::filesystem::create_directories(o.model_dir);
  EXPECT_EQ(get("/v1/model/loss.csv", "secret").status, 404);  // no loss.csv yet
  const std::string csv = "step,tokens,lr,train_loss,val_loss,val_loss_nomem,tokens_per_s\n10,40960,0.001,3.5,,,9000\n";
  std::ofstream(o.model_dir + "/loss.csv") << csv;
  Response r = get("/v1/model/loss.csv", "secret");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/csv; charset=utf-8");
  EXPECT_EQ(r.body, csv);
  std::ofstream(o.model_dir + "/loss.csv", std::ios::app) << "20,81920,0.001,3.1,3.2,3.4,9100\n";
  EXPECT_NE(get("/v1/model/loss.csv", "secret").body, csv);  // read anew: a run appends to it
  EXPECT_EQ(get("/v1/model/loss.csv").status, 401);          // the API's token, unlike /ui
}

}  // namespace
}  // namespace engram::server
