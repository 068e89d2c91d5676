// JSON ecosystem files: parsed with nlohmann (comments allowed, as PM2 evaluated .json files
// leniently), plus a second light pass that records the line and column of every key, which
// nlohmann does not keep.
#pragma once

#include <string>

#include "config/document.hpp"

namespace drove::config {

// PM2 evaluates a .json ecosystem file as a JavaScript expression, so files written as object
// literals work there: unquoted keys, 'single-quoted' strings, trailing commas (comments are
// left for the parser, which accepts them). This rewrites such text as JSON, keeping every line
// where it was (columns move by the quotes added); strict JSON comes back unchanged.
std::string relax_js_literal(const std::string& text);

// Throws ConfigError "name:line:col: <what the parser expected>" on malformed input. The text
// goes through relax_js_literal first.
Document parse_json_document(const std::string& text, const std::string& display_name, const std::string& base_dir);

// 1-based line and column (in characters, not bytes) of the byte at `offset`.
SourceLocation location_of_offset(const std::string& text, size_t offset, const std::string& file);

}  // namespace drove::config
