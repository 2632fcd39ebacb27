#include "cli/logging.h"

#include <CLI/CLI.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

namespace engram::cli {
namespace {

// %* in a pattern: the message as the inside of a JSON string, so a message holding quotes,
// backslashes or control characters still makes one valid JSON object per line.
class JsonEscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static const char* kHex = "0123456789abcdef";
    for (const char c : msg.payload) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (u < 0x20) {
        const char esc[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 15]};
        dest.append(esc, esc + sizeof esc);
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

// Timestamps are UTC with an explicit zone in both formats: log lines get compared across hosts.
constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%eZ %l %v";
constexpr const char* kJsonPattern = R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%*"})";
// The access logger's messages are already fields: logfmt in text, JSON members in json.
constexpr const char* kAccessTextPattern = "%Y-%m-%dT%H:%M:%S.%eZ access %v";
constexpr const char* kAccessJsonPattern = R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"info","msg":"access",%v})";

std::unique_ptr<spdlog::formatter> formatter(const char* pattern) {
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  f->add_flag<JsonEscapedMessage>('*').set_pattern(pattern);
  return f;
}

std::shared_ptr<spdlog::logger> stderr_logger(const std::string& name) {
  spdlog::drop(name);
  return spdlog::stderr_color_mt(name);
}

}  // namespace

void add_log_options(CLI::App& app, LogSettings& settings) {
  // Applied as soon as each is parsed: engram-lm's commands run inside parse(), as callbacks.
  // each() runs before CLI11 stores the value, so the value is taken from its argument.
  const auto level = [&settings](const std::string& v) {
    settings.level = v;
    configure_logging(settings);
  };
  const auto format = [&settings](const std::string& v) {
    settings.format = v;
    configure_logging(settings);
  };
  app.add_option("--log-level", settings.level, "Least severe log lines shown")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->envname("ENGRAM_LOG_LEVEL")
      ->capture_default_str()
      ->each(level);
  app.add_option("--log-format", settings.format, "Log lines as text or as one JSON object per line")
      ->check(CLI::IsMember({"text", "json"}))
      ->envname("ENGRAM_LOG_FORMAT")
      ->capture_default_str()
      ->each(format);
  app.fallthrough();  // `engram serve --log-level debug` as well as `engram --log-level debug serve`
}

void configure_logging(const LogSettings& settings) {
  const bool json = settings.format == "json";
  // Named like ingest::log_to_stderr()'s logger, which then keeps this one.
  auto main = stderr_logger("engram-stderr");
  main->set_formatter(formatter(json ? kJsonPattern : kTextPattern));
  main->set_level(spdlog::level::from_str(settings.level));
  spdlog::set_default_logger(main);
  auto access = stderr_logger("engram-access");
  access->set_formatter(formatter(json ? kAccessJsonPattern : kAccessTextPattern));
  access->set_level(spdlog::level::info);
}

void print_error(const std::string& message) { std::fprintf(stderr, "engram: error: %s\n", message.c_str()); }

}  // namespace engram::cli
