#include "config/diagnostic.hpp"

#include <fmt/format.h>

namespace drove::config {

namespace {

// A diagnostic is one line however odd the text it quotes: a YAML key holding a newline (found
// by the ecosystem_yaml fuzzer) or a file name with one is shown escaped, as \n, \r or \xHH.
std::string one_line(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const unsigned char c : text) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if ((c < 0x20 && c != '\t') || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

}  // namespace

std::string Diagnostic::str() const {
  std::string where = one_line(file);
  if (!where.empty() && line > 0) {
    where += ":" + std::to_string(line);
    if (column > 0) where += ":" + std::to_string(column);
  }
  return where.empty() ? one_line(message) : where + ": " + one_line(message);
}

}  // namespace drove::config
