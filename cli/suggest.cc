#include "cli/suggest.h"

#include <cstdio>

#include "cli/logging.h"

#include <CLI/CLI.hpp>

#include <algorithm>

namespace engram::cli {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  // Optimal string alignment distance over three rows.
  std::vector<std::size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    prev2.swap(prev);
    prev.swap(cur);
  }
  return prev[b.size()];
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  const std::size_t allowed = std::max<std::size_t>(1, word.size() / 3);
  std::string best;
  std::size_t best_distance = allowed + 1;
  for (const std::string& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) best_distance = d, best = c;
  }
  return best;
}

namespace {

// The subcommand the user chose (the deepest one parsed); `app` when none.
const CLI::App* chosen(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->parsed()) return chosen(*sub);
  return &app;
}

std::vector<std::string> long_options(const CLI::App* app) {
  std::vector<std::string> out;
  for (; app != nullptr; app = app->get_parent())  // options of the parents are accepted too
    for (const CLI::Option* opt : app->get_options())
      for (const std::string& name : opt->get_lnames()) out.push_back("--" + name);
  return out;
}

}  // namespace

std::string explain_unexpected(const CLI::App& app) {
  const CLI::App* cmd = chosen(app);
  std::string out;
  bool after_unknown_option = false;
  for (const std::string& arg : app.remaining(/*recurse=*/true)) {
    // The value of an unknown option ("--prot 1") is not a mistake of its own.
    const bool value = after_unknown_option && arg.rfind("-", 0) != 0;
    after_unknown_option = false;
    if (value) continue;
    std::string line;
    if (arg.rfind("--", 0) == 0) {
      after_unknown_option = arg.find('=') == std::string::npos;
      const std::string name = arg.substr(0, arg.find('='));
      line = (cmd == &app ? "" : cmd->get_name() + ": ") + "unknown option '" + name + "'";
      const std::string guess = closest(name, long_options(cmd));
      if (!guess.empty()) line += " (did you mean " + guess + "?)";
    } else if (cmd == &app) {
      std::vector<std::string> names;
      for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
        names.push_back(sub->get_name());
      line = "unknown command '" + arg + "'";
      const std::string guess = closest(arg, names);
      if (!guess.empty()) line += " (did you mean " + guess + "?)";
    } else {
      line = cmd->get_name() + ": unexpected argument '" + arg + "'";
    }
    out += line + "\n";
  }
  return out;
}

int parse_error_exit(CLI::App& app, const CLI::ParseError& e) {
  if (const std::string unexpected = explain_unexpected(app); !unexpected.empty()) {
    std::string lines = unexpected;
    for (std::size_t at; (at = lines.find('\n')) != std::string::npos; lines.erase(0, at + 1))
      print_error(lines.substr(0, at));
    std::fprintf(stderr, "Run with --help for the commands and options.\n");
    return 2;
  }
  return app.exit(e) == 0 ? 0 : 2;
}

}  // namespace engram::cli
