// cli/suggest.h — "did you mean …?" for a mistyped subcommand or option.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
class ParseError;
}

namespace engram::cli {

// Levenshtein distance (insertions, deletions, substitutions; a swap of neighbours counts 1,
// as the commonest typo: "serach").
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `word`, if it is close enough to be what was meant (at most a third
// of the word's letters wrong, and at least 1 allowed); else "".
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

// After CLI11 refused arguments it did not expect: one message per unknown argument, naming it
// and suggesting the closest subcommand (at the top level) or option of the command given.
// Empty when nothing was left over (another kind of error).
std::string explain_unexpected(const CLI::App& app);

// What a command's main does with a parse failure: an unknown command or option is named (with
// the closest valid one) and is exit status 2; --help and --version exit 0; any other parse
// failure is a usage error, 2.
int parse_error_exit(CLI::App& app, const CLI::ParseError& e);

}  // namespace engram::cli
