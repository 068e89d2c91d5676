// Secret-looking variables hidden at the CLI's edge; see secret_mask.hpp.
#include "cli/secret_mask.hpp"

#include <cctype>
#include <cstdlib>
#include <string_view>

namespace drove::cli {
namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Iterative glob match with '*' only, case-insensitive (backtracks to the last star).
bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && lower(pattern[p]) == lower(text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

std::vector<std::string> default_secret_patterns() {
  return {"*_TOKEN", "*_SECRET", "*SECRET*", "*PASSWORD*", "*PASSWD*", "*_KEY", "*_KEY_*", "*CREDENTIALS*", "*_PASS"};
}

std::vector<std::string> secret_patterns_from_env() {
  const char* configured = std::getenv("DROVE_SECRET_PATTERNS");
  if (configured == nullptr) return default_secret_patterns();
  std::vector<std::string> patterns;
  std::string current;
  for (const char* c = configured;; ++c) {
    if (*c == ',' || *c == '\0') {
      while (!current.empty() && std::isspace(static_cast<unsigned char>(current.back()))) current.pop_back();
      const auto first = current.find_first_not_of(" \t");
      if (first != std::string::npos) patterns.push_back(current.substr(first));
      current.clear();
      if (*c == '\0') break;
    } else {
      current += *c;
    }
  }
  return patterns;
}

bool mask_secrets_from_env() {
  const char* value = std::getenv("DROVE_MASK_SECRETS");
  if (value == nullptr) return false;
  const std::string_view v(value);
  return !(v.empty() || v == "0" || v == "false" || v == "no");
}

bool matches_secret_pattern(const std::string& name, const std::vector<std::string>& patterns) {
  for (const auto& pattern : patterns) {
    if (glob_match(pattern, name)) return true;
  }
  return false;
}

void mask_secret_env(nlohmann::json& processes, const std::vector<std::string>& patterns) {
  for (auto& process : processes) {
    if (!process.is_object() || !process.contains("spec")) continue;
    auto& spec = process["spec"];
    if (!spec.is_object() || !spec.contains("env") || !spec["env"].is_object()) continue;
    for (auto& [name, value] : spec["env"].items()) {
      if (matches_secret_pattern(name, patterns)) value = kHiddenValue;
    }
  }
}

}  // namespace drove::cli
