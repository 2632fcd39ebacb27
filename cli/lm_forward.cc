// cli/lm_forward.cc — handing LM commands to engram-lm.
#include "lm_forward.h"

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "lm/command_names.h"

namespace engram::cli {
namespace {

// The subcommand's position: after the options of `engram` itself that may come first
// (--log-level and --log-format, with their values); argc when there is none.
int command_index(int argc, char** argv) {
  int i = 1;
  while (i < argc) {
    const std::string arg = argv[i];
    if (arg == "--log-level" || arg == "--log-format") i += 2;
    else if (arg.rfind("--log-level=", 0) == 0 || arg.rfind("--log-format=", 0) == 0) i += 1;
    else break;
  }
  return i;
}

bool is_lm_invocation(int argc, char** argv) {
  const int at = command_index(argc, argv);
  if (at >= argc) return false;
  const std::string command = argv[at];
  for (const lm::LmCommand& c : lm::kLmCommands)
    if (command == c.name) return true;
  if (command != "ingest") return false;
  for (int i = at + 1; i < argc; ++i) {
    const std::string arg = argv[i];
    for (const char* option : lm::kTextIngestOptions) {
      const std::string o = option;
      if (arg == o || arg.rfind(o + "=", 0) == 0) return true;
    }
  }
  return false;
}

// Where engram-lm is: $ENGRAM_LM; next to this program (an installed layout); where this build
// put it; else the PATH.
std::vector<std::string> candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("ENGRAM_LM"); env != nullptr && *env != '\0') out.emplace_back(env);
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) out.push_back((self.parent_path() / "engram-lm").string());
#ifdef ENGRAM_LM_BUILD_PATH
  out.emplace_back(ENGRAM_LM_BUILD_PATH);
#endif
  return out;
}

// The arguments of this process (run_lm_command_if_asked keeps them).
int g_argc = 0;
char** g_argv = nullptr;

int exec_engram_lm(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  for (const std::string& path : candidates()) {
    if (::access(path.c_str(), X_OK) != 0) continue;
    args[0] = const_cast<char*>(path.c_str());
    ::execv(path.c_str(), args.data());
    std::fprintf(stderr, "engram: cannot run %s: %s\n", path.c_str(), std::strerror(errno));
    return 126;
  }
  static char name[] = "engram-lm";
  args[0] = name;
  ::execvp(name, args.data());
  std::fprintf(stderr,
               "engram: '%s' needs the LM layer, which runs in engram-lm; none was found "
               "(set ENGRAM_LM, or build with -DENGRAM_BUILD_LM=ON)\n",
               argv[command_index(argc, argv)]);
  return 127;
}

}  // namespace

std::optional<int> run_lm_command_if_asked(int argc, char** argv) {
  g_argc = argc;
  g_argv = argv;
  if (!is_lm_invocation(argc, argv)) return std::nullopt;
  return exec_engram_lm(argc, argv);
}

int run_in_engram_lm() { return exec_engram_lm(g_argc, g_argv); }

void list_lm_commands(CLI::App& app) {
  for (const lm::LmCommand& c : lm::kLmCommands)
    app.add_subcommand(c.name, std::string(c.description) + " (runs engram-lm)")->allow_extras();
}

}  // namespace engram::cli
