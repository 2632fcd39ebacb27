// list_routes.cc — prints "METHOD PATTERN" for every route a server with every optional part
// (the console, a model folder) registers: openapi_test.py compares them with docs/openapi.yaml.
#include <cstdio>
#include <filesystem>

#include <engram/engram.h>

#include "service.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::remove_all(dir);
  engram::server::ServerOptions options;
  options.ui = true;
  options.model_dir = (dir / "model").string();
  engram::server::Service service(engram::Database::open((dir / "data").string()), options);
  for (const auto& [method, pattern] : service.router().routes()) std::printf("%s %s\n", method.c_str(), pattern.c_str());
  std::filesystem::remove_all(dir);
  return 0;
}
