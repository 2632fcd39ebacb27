// cli/serve_config.h — where `engram serve` takes its settings from besides its flags: a config
// file (--config FILE, TOML or INI, keys named like the flags: `port = 8420`) and an
// ENGRAM_<FLAG> environment variable for every flag (ENGRAM_PORT, ENGRAM_MAX_BODY_BYTES, ...).
// A flag beats its variable, which beats the file. --print-config shows the result.
#pragma once

namespace CLI {
class App;
}

namespace engram::cli {

// Call after the command's options are declared: gives each an environment variable (unless it
// has one) and adds --config and --print-config.
void add_config_options(CLI::App& cmd);

// Call first thing in the command's action: sets every option that neither a flag nor its
// variable set from the --config file, if one was given. Throws CLI::ParseError (a usage error)
// naming the file for an unknown key or a bad value. (CLI11's own set_config reads a file only
// for the top-level app, so a subcommand's file is applied here.)
void apply_config_file(CLI::App& cmd);

// With --print-config: prints the effective settings as a TOML config file (the token shown
// as set or not, never its value) and returns true.
bool print_config_if_asked(const CLI::App& cmd);

}  // namespace engram::cli
