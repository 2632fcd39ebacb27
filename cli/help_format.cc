#include "cli/help_format.h"

#include <memory>

namespace engram::cli {

std::string HelpFormatter::make_option_opts(const CLI::Option* opt) const {
  if (!opt->get_option_text().empty()) return " " + opt->get_option_text();
  std::string out;
  if (opt->get_type_size() != 0) {
    if (!opt->get_type_name().empty()) out += " " + get_label(opt->get_type_name());
    if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) out += " ...";
    if (opt->get_required()) out += " " + get_label("REQUIRED");
  }
  return out;
}

std::string HelpFormatter::make_option_desc(const CLI::Option* opt) const {
  std::string out = opt->get_description();
  std::string notes;
  // A flag's "default" is CLI11's internal false/0: saying it would only confuse.
  if (opt->get_type_size() != 0 && !opt->get_default_str().empty() && !opt->get_required()) {
    const std::string d = opt->get_default_str();
    notes += "default: " + (d == "\"\"" || d == "[]" ? std::string("none") : d);
  }
  if (!opt->get_envname().empty()) notes += std::string(notes.empty() ? "" : "; ") + "env " + opt->get_envname();
  if (!notes.empty()) out += " (" + notes + ")";
  return out;
}

void use_help_formatter(CLI::App& app) { app.formatter(std::make_shared<HelpFormatter>()); }

}  // namespace engram::cli
