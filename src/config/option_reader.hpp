// OptionReader: typed access to a RawApp's options. Each getter returns nullopt when the
// option is absent (or null), the value when it has the right shape, and otherwise throws
// ConfigError at the option's location: "file:line: 'kill_timeout' must be a duration ...".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/raw_app.hpp"

namespace drove::config {

class OptionReader {
 public:
  OptionReader(const RawApp& app, std::string shell_cwd) : app_(app), shell_cwd_(std::move(shell_cwd)) {}

  [[nodiscard]] const RawOption* find(const std::string& key) const;

  [[noreturn]] void fail(const RawOption& option, const std::string& message) const;
  // "'<key>' must be <expected>, got <value as JSON>"
  [[noreturn]] void fail_expected(const RawOption& option, const std::string& expected) const;

  std::optional<std::string> text(const std::string& key) const;
  std::optional<std::string> text_or_number(const std::string& key) const;  // uid: 1000 or "www"
  std::optional<bool> flag(const std::string& key) const;                   // also "true"/"false"
  std::optional<std::int64_t> whole_number(const std::string& key, std::int64_t min, std::int64_t max) const;
  // A finite number above `above` and at most `max` (3, 2.5 or "2.5").
  std::optional<double> number(const std::string& key, double above, double max) const;
  std::optional<std::int64_t> duration_ms(const std::string& key) const;
  std::optional<std::int64_t> size_bytes(const std::string& key) const;
  // A string split like a shell, or an array of strings/numbers.
  std::optional<std::vector<std::string>> words(const std::string& key) const;
  // One string, or an array of strings.
  std::optional<std::vector<std::string>> string_list(const std::string& key) const;

  // Absolute form of a path written in `option`: relative to the ecosystem file's directory,
  // or to the shell's cwd for a CLI flag (or to `relative_to` when given); "~/" is $HOME.
  [[nodiscard]] std::string absolute_path(const RawOption& option, const std::string& path,
                                          const std::string& relative_to = "") const;
  void set_home(std::string home) { home_ = std::move(home); }

 private:
  const RawApp& app_;
  std::string shell_cwd_;
  std::string home_;
};

// Whole numbers of a JSON value: 3, 3.0 and "3" are 3; 3.5, "3x" and true are not.
std::optional<std::int64_t> json_whole_number(const nlohmann::json& value);

}  // namespace drove::config
