// cli/help_format.h — how `engram … --help` shows options: the description, then the default
// and the environment variable in words ("(default: 8420; env ENGRAM_PORT)") instead of
// CLI11's "UINT=8420 (Env:ENGRAM_PORT)" packed next to the option's name.
#pragma once

#include <CLI/CLI.hpp>

namespace engram::cli {

class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* opt) const override;
  std::string make_option_desc(const CLI::Option* opt) const override;
};

// Installs HelpFormatter on `app`; call before adding subcommands, which inherit it.
void use_help_formatter(CLI::App& app);

}  // namespace engram::cli
