// main.cc — the `engram` command: dispatches to the subcommands registered in cmd_*.cc.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <engram/error.h>
#include <engram/version.h>

#include "cli/help_format.h"
#include "cli/logging.h"
#include "cli/suggest.h"
#include "command.h"
#include "lm_forward.h"

int main(int argc, char** argv) {
  if (auto rc = engram::cli::run_lm_command_if_asked(argc, argv)) return *rc;
  CLI::App app{"engram — an embeddable vector-memory database"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("engram ") + engram::version() + " (" + engram::git_commit() + ", simd " +
                           engram::simd_level() + ")",
                       "print the version, the git commit and the distance kernels in use, and exit");
  engram::cli::use_help_formatter(app);
  engram::cli::LogSettings log;
  engram::cli::configure_logging(log);
  engram::cli::add_log_options(app, log);
  auto& list = engram::cli::commands();
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.name < b.name; });

  std::vector<std::pair<CLI::App*, engram::cli::Action>> actions;
  for (auto& c : list) {
    CLI::App* sub = app.add_subcommand(c.name, c.description);
    actions.emplace_back(sub, c.setup(*sub));
  }
#ifdef ENGRAM_LM_BUILD_PATH
  engram::cli::list_lm_commands(app);  // they ran above, in engram-lm
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return engram::cli::parse_error_exit(app, e);
  } catch (const engram::Error& e) {
    engram::cli::print_error(std::string(e.what()) + " (" + engram::error_code_name(e.code()) + ")");
    return 1;
  } catch (const std::exception& e) {
    engram::cli::print_error(e.what());
    return 1;
  }

  for (auto& [sub, action] : actions) {
    if (!sub->parsed()) continue;
    try {
      return action();
    } catch (const CLI::ParseError& e) {  // settings found wrong after parsing (a --config file)
      engram::cli::print_error(sub->get_name() + ": " + e.what());
      return 2;
    } catch (const engram::Error& e) {
      engram::cli::print_error(sub->get_name() + ": " + e.what() + " (" + engram::error_code_name(e.code()) + ")");
      return 1;
    } catch (const std::exception& e) {
      engram::cli::print_error(sub->get_name() + ": " + e.what());
      return 1;
    }
  }
  return 1;
}
