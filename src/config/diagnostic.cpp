#include "config/diagnostic.hpp"

namespace drove::config {

std::string Diagnostic::str() const {
  std::string where = file;
  if (!where.empty() && line > 0) {
    where += ":" + std::to_string(line);
    if (column > 0) where += ":" + std::to_string(column);
  }
  return where.empty() ? message : where + ": " + message;
}

}  // namespace drove::config
