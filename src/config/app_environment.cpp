#include "config/app_environment.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

namespace drove::config {

std::map<std::string, std::string> filtered_shell_env(const std::map<std::string, std::string>& shell,
                                                      const EnvFilter& filter) {
  if (filter.drop_all) return {};
  std::map<std::string, std::string> out;
  for (const auto& entry : shell) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    const std::string& key = entry.first;
    const bool dropped = std::any_of(filter.prefixes.begin(), filter.prefixes.end(),
                                     [&key](const std::string& prefix) { return key.rfind(prefix, 0) == 0; });
    if (!dropped) out.emplace(key, entry.second);
  }
  return out;
}

bool reaches_other_user(const std::string& name) {
  static const char* const kAllowed[] = {"PATH", "LANG", "LANGUAGE", "TZ", "TERM", "NODE_ENV"};
  if (name.rfind("LC_", 0) == 0) return true;
  return std::any_of(std::begin(kAllowed), std::end(kAllowed),
                     [&name](const char* allowed) { return name == allowed; });
}

std::map<std::string, std::string> other_user_shell_env(const std::map<std::string, std::string>& shell) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : shell) {
    if (reaches_other_user(key)) out.emplace(key, value);
  }
  return out;
}

std::string env_value_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  if (value.is_number_float()) {
    // JavaScript prints whole doubles below 1e21 without a fraction or exponent: 2.0 → "2",
    // 1e16 → "10000000000000000"; from 1e21 on with one ("1e+21", as nlohmann does). The range is
    // checked before any conversion: casting 1e31 to an integer was undefined behaviour (found by
    // the ecosystem_json fuzz target).
    const double d = value.get<double>();
    if (d == 0) return "0";  // -0 too, as String(-0)
    if (std::isfinite(d) && std::fabs(d) < 1e21 && std::trunc(d) == d) {
      char text[32];
      std::snprintf(text, sizeof text, "%.0f", d);
      return text;
    }
  }
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void merge_env(std::map<std::string, std::string>& env, const nlohmann::json& vars) {
  for (const auto& [key, value] : vars.items()) env[key] = env_value_text(value);
}

}  // namespace drove::config
