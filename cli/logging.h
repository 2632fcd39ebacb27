// cli/logging.h — how `engram` and `engram-lm` log: to stderr (stdout carries the commands'
// output), at --log-level / $ENGRAM_LOG_LEVEL, as text or one JSON object per line
// (--log-format / $ENGRAM_LOG_FORMAT), plus the server's optional access log.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace engram::cli {

struct LogSettings {
  std::string level = "info";   // trace, debug, info, warn, error, off
  std::string format = "text";  // text or json
};

// Declares --log-level and --log-format on `app` (with their environment variables), applied
// by configure_logging() as they are parsed; they are accepted after a subcommand too. Call
// configure_logging(settings) before parsing for the defaults.
void add_log_options(CLI::App& app, LogSettings& settings);

// Makes the default logger write to stderr in `settings`' level and format. Also creates the
// access logger the server writes to ("engram-access"), in the same format; it logs whatever
// --log-level says, since asking for an access log is asking for its lines.
void configure_logging(const LogSettings& settings);

// Prints "engram: error: <message>" to stderr: what the user reads when a command fails.
void print_error(const std::string& message);

}  // namespace engram::cli
