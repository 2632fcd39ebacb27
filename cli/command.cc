#include "command.h"

namespace engram::cli {

std::vector<Command>& commands() {
  // A function-local static, so registrations from other files' static initializers are safe
  // whatever order those run in.
  static std::vector<Command> list;
  return list;
}

}  // namespace engram::cli
