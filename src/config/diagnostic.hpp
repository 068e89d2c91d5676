// Diagnostics of the config layer: where in which ecosystem file something is wrong, and what.
// The config layer's error model: a problem that must stop the load is thrown as ConfigError
// (one line, "file:line:col: message"); a problem the user should hear about but that does not
// stop anything (an unknown key) is collected as a warning Diagnostic.
#pragma once

#include <stdexcept>
#include <string>

namespace drove::config {

struct SourceLocation {
  std::string file;  // as the user named it ("ecosystem.yml", "<stdin>"), "" for CLI flags
  int line = 0;      // 1-based, 0 = unknown
  int column = 0;    // 1-based, 0 = unknown
};

struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;

  Diagnostic() = default;
  Diagnostic(const SourceLocation& where, std::string text)
      : file(where.file), line(where.line), column(where.column), message(std::move(text)) {}

  // "file:line:col: message"; unknown parts are left out ("file: message", "message").
  [[nodiscard]] std::string str() const;
};

class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(Diagnostic diagnostic)
      : std::runtime_error(diagnostic.str()), diagnostic_(std::move(diagnostic)) {}
  ConfigError(const SourceLocation& where, std::string message) : ConfigError(Diagnostic(where, std::move(message))) {}

  [[nodiscard]] const Diagnostic& diagnostic() const noexcept { return diagnostic_; }

 private:
  Diagnostic diagnostic_;
};

}  // namespace drove::config
