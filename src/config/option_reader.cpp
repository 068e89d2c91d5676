#include "config/option_reader.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "config/units.hpp"

namespace drove::config {

std::optional<std::int64_t> json_whole_number(const nlohmann::json& value) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<std::int64_t>(d);
    return std::nullopt;
  }
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    size_t start = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    if (s.size() == start || s.size() - start > 15) return std::nullopt;
    for (size_t i = start; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
    }
    return std::stoll(s);
  }
  return std::nullopt;
}

const RawOption* OptionReader::find(const std::string& key) const {
  auto it = app_.options.find(key);
  if (it == app_.options.end() || it->second.value.is_null()) return nullptr;
  return &it->second;
}

void OptionReader::fail(const RawOption& option, const std::string& message) const {
  throw ConfigError(option.where, message);
}

void OptionReader::fail_expected(const RawOption& option, const std::string& expected) const {
  fail(option, "'" + option.written_key + "' must be " + expected + ", got " +
                   option.value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::optional<std::string> OptionReader::text(const std::string& key) const {
  const RawOption* option = find(key);
  if (!option) return std::nullopt;
  if (!option->value.is_string()) fail_expected(*option, "a string");
  return option->value.get<std::string>();
}

std::optional<std::string> OptionReader::text_or_number(const std::string& key) const {
  const RawOption* option = find(key);
  if (!option) return std::nullopt;
  if (option->value.is_string()) return option->value.get<std::string>();
  if (option->value.is_number_integer()) return std::to_string(option->value.get<std::int64_t>());
  fail_expected(*option, "a name or a number");
}

std::optional<bool> OptionReader::flag(const std::string& key) const {
  const RawOption* option = find(key);
  if (!option) return std::nullopt;
  if (option->value.is_boolean()) return option->value.get<bool>();
  if (option->value == "true") return true;
  if (option->value == "false") return false;
  fail_expected(*option, "true or false");
}

std::optional<std::int64_t> OptionReader::whole_number(const std::string& key, std::int64_t min,
                                                       std::int64_t max) const {
  const RawOption* option = find(key);
  if (!option) return std::nullopt;
  auto number = json_whole_number(option->value);
  if (!number || option->value.is_boolean()) fail_expected(*option, "a whole number");
  if (*number < min || *number > max) {
    fail_expected(*option, "between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return number;
}

std::optional<double> OptionReader::number(const std::string& key, double above, double max) const {
  const RawOption* option = find(key);
  if (!option) return std::nullopt;
  std::optional<double> value;
  if (option->value.is_number()) {
    value = option->value.get<double>();
  } else if (option->value.is_string()) {
    const std::string& text = option->value.get_ref<const std::string&>();
    char* end = nullptr;
    const double d = text.empty() ? 0 : std::strtod(text.c_str(), &end);
    if (!text.empty() && end == text.c_str() + text.size()) value = d;
  }
  if (!value || !std::isfinite(*value)) fail_expected(*option, "a number");
  if (*value <= above || *value > max) {
    fail_expected(*option, fmt::format("a number above {} and at most {}", above, max));
  }
  return value;
}

std::optional<std::int64_t> OptionReader::duration_ms(const std::string& key) const {
  const RawOption* option = find(key);
  if (!option) return std::nullopt;
  std::optional<std::int64_t> ms;
  if (option->value.is_number()) {
    const double d = option->value.get<double>();
    if (d >= 0 && d < 9e15) ms = static_cast<std::int64_t>(std::llround(d));
  } else if (option->value.is_string()) {
    ms = parse_duration_ms(option->value.get<std::string>());
  }
  if (!ms) fail_expected(*option, R"(a duration (milliseconds, or "500ms", "10s", "2m", "1h"))");
  return ms;
}

std::optional<std::int64_t> OptionReader::size_bytes(const std::string& key) const {
  const RawOption* option = find(key);
  if (!option) return std::nullopt;
  std::optional<std::int64_t> bytes;
  if (option->value.is_number()) {
    const double d = option->value.get<double>();
    if (d >= 0 && d < 9e15) bytes = static_cast<std::int64_t>(std::llround(d));
  } else if (option->value.is_string()) {
    bytes = parse_size(option->value.get<std::string>());
  }
  if (!bytes) fail_expected(*option, R"(a size (bytes, or "10K", "500M", "1G"))");
  return bytes;
}

std::optional<std::vector<std::string>> OptionReader::words(const std::string& key) const {
  const RawOption* option = find(key);
  if (!option) return std::nullopt;
  if (option->value.is_string()) {
    auto split = shell_split(option->value.get<std::string>());
    if (!split) fail(*option, "'" + option->written_key + "' has an unterminated quote");
    return split;
  }
  if (option->value.is_number()) return std::vector<std::string>{option->value.dump()};
  if (!option->value.is_array()) fail_expected(*option, "a string or an array of strings");
  std::vector<std::string> out;
  for (const auto& item : option->value) {
    if (item.is_string())
      out.push_back(item.get<std::string>());
    else if (item.is_number() || item.is_boolean())
      out.push_back(item.dump());
    else
      fail_expected(*option, "a string or an array of strings");
  }
  return out;
}

std::optional<std::vector<std::string>> OptionReader::string_list(const std::string& key) const {
  const RawOption* option = find(key);
  if (!option) return std::nullopt;
  if (option->value.is_string()) return std::vector<std::string>{option->value.get<std::string>()};
  if (!option->value.is_array()) fail_expected(*option, "a string or an array of strings");
  std::vector<std::string> out;
  for (const auto& item : option->value) {
    if (!item.is_string()) fail_expected(*option, "a string or an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::string OptionReader::absolute_path(const RawOption& option, const std::string& path,
                                        const std::string& relative_to) const {
  namespace fs = std::filesystem;
  if (path == "~" || path.rfind("~/", 0) == 0) {
    if (!home_.empty()) return (fs::path(home_) / path.substr(path.size() > 1 ? 2 : 1)).lexically_normal().string();
  }
  std::string base = relative_to;
  if (base.empty()) base = option.from_command_line || app_.base_dir.empty() ? shell_cwd_ : app_.base_dir;
  std::string out = (fs::path(base) / path).lexically_normal().string();
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace drove::config
