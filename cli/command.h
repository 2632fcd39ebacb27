// command.h — how a subcommand of `engram` plugs in.
//
// A subcommand is one file, cmd_<name>.cc, holding
//
//   static engram::cli::Registration reg("name", "one-line description", [](CLI::App& cmd) {
//     auto opts = std::make_shared<Options>();
//     cmd.add_option("--data", opts->data, "...");
//     return [opts] { ...; return 0; };   // runs when the subcommand is chosen; exit status
//   });
//
// The setup function declares the options; the function it returns does the work. main.cc
// knows no subcommand by name.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace engram::cli {

using Action = std::function<int()>;
using Setup = std::function<Action(CLI::App&)>;

struct Command {
  std::string name;
  std::string description;
  Setup setup;
};

// Every registered command, in registration order.
std::vector<Command>& commands();

struct Registration {
  Registration(std::string name, std::string description, Setup setup) {
    commands().push_back(Command{std::move(name), std::move(description), std::move(setup)});
  }
};

}  // namespace engram::cli
