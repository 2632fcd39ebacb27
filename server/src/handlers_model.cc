// handlers_model.cc — what the server knows of a model folder (engram serve --model DIR): its
// training log, GET /v1/model/loss.csv, which the console draws as loss curves.
//
// The file is read on each request, not at start: a training run appends to it while it runs.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "errors.h"
#include "service.h"

namespace engram::server {

void add_model_routes(Router& router, const std::string& model_dir) {
  router.add("GET", "/v1/model/loss.csv", [model_dir](const Request&, const Params&) {
    const std::filesystem::path path = std::filesystem::path(model_dir) / "loss.csv";
    std::ifstream in(path, std::ios::binary);
    if (!in) throw HttpError(404, "not_found", "the model folder has no loss.csv (" + path.string() + ")");
    std::ostringstream text;
    text << in.rdbuf();
    Response res;
    res.content_type = "text/csv; charset=utf-8";
    res.body = text.str();
    return res;
  });
}

}  // namespace engram::server
