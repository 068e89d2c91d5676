#include "base/json_limits.hpp"

namespace drove {

namespace {

struct Scan {
  std::size_t deepest = 0;
  std::size_t offset = 0;  // where `deepest` passed the limit
};

Scan scan(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (c == '"') {
      // Skip the string; a backslash escapes the next byte (enough to find the closing quote).
      for (++i; i < n && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
    } else if (c == '/' && i + 1 < n && text[i + 1] == '/') {
      // Where nlohmann (ignore_comments) ends a line comment: '\n', '\r' or a NUL byte. Ending
      // it later here would hide nesting the parser then builds.
      while (i < n && text[i] != '\n' && text[i] != '\r' && text[i] != '\0') ++i;
    } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      const auto end = text.find("*/", i + 2);
      i = end == std::string_view::npos ? n : end + 1;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > max_depth) return {deepest, i};
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return {deepest, text.size()};
}

}  // namespace

std::size_t json_nesting_depth(std::string_view text, std::size_t max_depth) { return scan(text, max_depth).deepest; }

std::optional<std::size_t> json_too_deep_at(std::string_view text, std::size_t max_depth) {
  const Scan s = scan(text, max_depth);
  if (s.deepest <= max_depth) return std::nullopt;
  return s.offset;
}

std::optional<nlohmann::json> parse_json_bounded(std::string_view text, std::string& why, std::size_t max_depth) {
  if (json_nesting_depth(text, max_depth) > max_depth) {
    why = "nesting deeper than " + std::to_string(max_depth);
    return std::nullopt;
  }
  auto value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    why = "not JSON";
    return std::nullopt;
  }
  return value;
}

}  // namespace drove
