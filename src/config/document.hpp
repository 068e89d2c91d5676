// Document: an ecosystem file once parsed, whatever its format — the JSON value it holds plus
// where each key was written, so that later validation can say "file:line".
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "config/diagnostic.hpp"

namespace drove::config {

struct Document {
  std::string display_name;  // the file as the user named it, for messages
  std::string base_dir;      // absolute directory relative paths in the file are resolved from
  nlohmann::json root;
  // JSON pointer ("/apps/0/instances") → where that key (or array element) starts. Empty for
  // sources without positions (JS): locations then name the file only.
  std::map<std::string, SourceLocation> positions;

  // Where `pointer` was written; the file alone when unknown.
  [[nodiscard]] SourceLocation locate(const std::string& pointer) const {
    if (auto it = positions.find(pointer); it != positions.end()) return it->second;
    return SourceLocation{display_name, 0, 0};
  }
};

// "/apps/0" + "max_restarts" → "/apps/0/max_restarts", escaping '~' and '/' as RFC 6901 says.
std::string pointer_append(const std::string& pointer, const std::string& token);

}  // namespace drove::config
