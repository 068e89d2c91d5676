// YAML ecosystem files: yaml-cpp's node tree turned into the same JSON value a .json file
// gives, with each key's line and column taken from the node marks. Plain scalars are typed the
// way js-yaml (what PM2 uses) types them: YAML 1.2 core schema, so `yes` stays a string.
#pragma once

#include <string>

#include "config/document.hpp"

namespace drove::config {

// Throws ConfigError "name:line:col: <yaml-cpp's complaint>" on malformed input.
Document parse_yaml_document(const std::string& text, const std::string& display_name, const std::string& base_dir);

}  // namespace drove::config
