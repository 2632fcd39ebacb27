#include "cli/serve_config.h"

#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdio>
#include <sstream>
#include <string>

namespace engram::cli {

void add_config_options(CLI::App& cmd) {
  for (CLI::Option* opt : cmd.get_options()) {
    if (opt == cmd.get_help_ptr() || opt == cmd.get_help_all_ptr() || !opt->get_envname().empty()) continue;
    if (opt->get_lnames().empty()) continue;
    std::string env = "ENGRAM_";
    for (char c : opt->get_lnames().front())
      env += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    opt->envname(env);
  }
  cmd.add_option("--config", "Read settings from this TOML or INI file (keys are the flag names: port = 8420)")
      ->check(CLI::ExistingFile);
  cmd.add_flag("--print-config", "Print the effective settings (flags, ENGRAM_* variables and --config together) "
                                 "as a config file, and exit");
}

void apply_config_file(CLI::App& cmd) {
  const CLI::Option* config = cmd.get_option("--config");
  if (config->count() == 0) return;
  const std::string file = config->as<std::string>();
  for (const CLI::ConfigItem& item : CLI::ConfigTOML().from_file(file)) {
    // Section markers, and a [serve] section's keys come as name with parents {"serve"}.
    if (item.name == "++" || item.name == "--") continue;
    if (!item.parents.empty() && !(item.parents.size() == 1 && item.parents[0] == cmd.get_name()))
      throw CLI::ConversionError("--config " + file + ": unknown section [" + item.parents[0] + "]");
    CLI::Option* opt = cmd.get_option_no_throw("--" + item.name);
    if (opt == nullptr || item.name == "config" || item.name == "print-config" || item.name == "help")
      throw CLI::ConversionError("--config " + file + ": unknown setting '" + item.name + "'");
    if (opt->count() > 0) continue;  // the command line or the environment said otherwise
    for (const std::string& value : item.inputs) opt->add_result(value);
    try {
      opt->run_callback();
    } catch (const CLI::Error& e) {
      throw CLI::ConversionError("--config " + file + ": " + item.name + ": " + e.what());
    }
  }
}

bool print_config_if_asked(const CLI::App& cmd) {
  if (cmd.get_option("--print-config")->count() == 0) return false;
  std::istringstream all(cmd.config_to_str(/*default_also=*/true, /*write_description=*/false));
  std::string out;
  for (std::string line; std::getline(all, line);) {
    if (line.rfind("print-config", 0) == 0) continue;
    if (line.rfind("config=", 0) == 0) line = "# with the settings of " + line.substr(7);  // not a setting itself
    // A config file that others may read must not receive the secret by a copy and paste.
    if (line.rfind("token=", 0) == 0) line = line == "token=\"\"" ? line : "# token is set (not shown)";
    out += line + "\n";
  }
  std::fputs(out.c_str(), stdout);
  return true;
}

}  // namespace engram::cli
