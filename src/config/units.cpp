#include "config/units.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace drove::config {
namespace {

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Splits "1.5G" into 1.5 and "g". Rejects signs, blanks, empty numbers.
std::optional<std::pair<double, std::string>> number_and_unit(const std::string& text) {
  size_t digits_end = 0;
  bool seen_digit = false, seen_dot = false;
  while (digits_end < text.size()) {
    const char c = text[digits_end];
    if (std::isdigit(static_cast<unsigned char>(c)))
      seen_digit = true;
    else if (c == '.' && !seen_dot)
      seen_dot = true;
    else
      break;
    ++digits_end;
  }
  if (!seen_digit) return std::nullopt;
  const double value = std::strtod(text.substr(0, digits_end).c_str(), nullptr);
  if (!std::isfinite(value) || value > 9e15) return std::nullopt;
  return std::make_pair(value, lower(text.substr(digits_end)));
}

// value * factor as an int64, or nullopt when it does not fit: llround() of an out-of-range
// double is unspecified (LLONG_MIN here), which turned "9999999999G" into a negative size.
std::optional<std::int64_t> scaled(double value, double factor) {
  const double product = value * factor;
  if (!(product < 9.2e18)) return std::nullopt;
  return static_cast<std::int64_t>(std::llround(product));
}

}  // namespace

std::optional<std::int64_t> parse_size(const std::string& text) {
  auto parsed = number_and_unit(text);
  if (!parsed) return std::nullopt;
  auto [value, unit] = *parsed;
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  double factor = 1;
  if (unit == "k")
    factor = 1024.0;
  else if (unit == "m")
    factor = 1024.0 * 1024;
  else if (unit == "g")
    factor = 1024.0 * 1024 * 1024;
  else if (!unit.empty())
    return std::nullopt;
  return scaled(value, factor);
}

std::optional<std::int64_t> parse_duration_ms(const std::string& text) {
  auto parsed = number_and_unit(text);
  if (!parsed) return std::nullopt;
  const auto& [value, unit] = *parsed;
  double factor = 0;
  if (unit.empty() || unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else if (unit == "d")
    factor = 86'400'000;
  else
    return std::nullopt;
  return scaled(value, factor);
}

std::optional<std::vector<std::string>> shell_split(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote == '\'') {
      if (c == '\'')
        quote = 0;
      else
        word += c;
    } else if (quote == '"') {
      if (c == '"') {
        quote = 0;
      } else if (c == '\\' && i + 1 < text.size() &&
                 std::string_view("\"\\$`").find(text[i + 1]) != std::string_view::npos) {
        word += text[++i];
      } else {
        word += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      word += text[++i];
      in_word = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0) return std::nullopt;
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace drove::config
