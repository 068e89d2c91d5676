#include "config/cron_syntax.hpp"

#include <array>
#include <cctype>
#include <sstream>
#include <vector>

namespace drove::config {
namespace {

struct FieldRule {
  const char* name;
  int min;
  int max;
  std::vector<std::string> names;  // names[i] stands for min + i (jan = 1, sun = 0)
};

const FieldRule kSeconds{"second", 0, 59, {}};
const FieldRule kMinutes{"minute", 0, 59, {}};
const FieldRule kHours{"hour", 0, 23, {}};
const FieldRule kDays{"day of month", 1, 31, {}};
const FieldRule kMonths{
    "month", 1, 12, {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}};
const FieldRule kWeekdays{"day of week", 0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}};

std::optional<int> value_of(std::string text, const FieldRule& rule) {
  if (text.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    for (char c : text) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    }
    return text.size() > 3 ? 1000 : std::stoi(text);
  }
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t i = 0; i < rule.names.size(); ++i) {
    if (rule.names[i] == text) return rule.min + static_cast<int>(i);
  }
  return std::nullopt;
}

std::optional<std::string> check_value(const std::string& text, const FieldRule& rule) {
  auto value = value_of(text, rule);
  if (!value) return "'" + text + "' is not a valid value";
  if (*value < rule.min || *value > rule.max) {
    return text + " is out of range " + std::to_string(rule.min) + "-" + std::to_string(rule.max);
  }
  return std::nullopt;
}

std::optional<std::string> check_field(const std::string& field, const FieldRule& rule) {
  std::stringstream parts(field);
  std::string part;
  while (std::getline(parts, part, ',')) {
    std::string range = part;
    if (const auto slash = part.find('/'); slash != std::string::npos) {
      range = part.substr(0, slash);
      const std::string step = part.substr(slash + 1);
      auto step_value = value_of(step, FieldRule{"", 1, 1000, {}});
      if (!step_value || *step_value < 1) return "'" + step + "' is not a valid step";
    }
    if (range == "*" || range == "?") continue;
    if (const auto dash = range.find('-'); dash != std::string::npos) {
      if (auto error = check_value(range.substr(0, dash), rule)) return error;
      if (auto error = check_value(range.substr(dash + 1), rule)) return error;
      continue;
    }
    if (auto error = check_value(range, rule)) return error;
  }
  if (field.empty() || field.back() == ',') return "empty list item";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> cron_syntax_error(const std::string& expression) {
  static const std::array<const char*, 7> macros = {"@yearly", "@annually", "@monthly", "@weekly",
                                                    "@daily",  "@midnight", "@hourly"};
  for (const char* macro : macros) {
    if (expression == macro) return std::nullopt;
  }
  std::stringstream words(expression);
  std::vector<std::string> fields;
  for (std::string word; words >> word;) fields.push_back(word);
  if (fields.size() != 5 && fields.size() != 6) {
    return "expected 5 fields (minute hour day month weekday) or 6 (with seconds first), got " +
           std::to_string(fields.size());
  }
  std::vector<const FieldRule*> rules = {&kMinutes, &kHours, &kDays, &kMonths, &kWeekdays};
  if (fields.size() == 6) rules.insert(rules.begin(), &kSeconds);
  for (size_t i = 0; i < fields.size(); ++i) {
    if (auto error = check_field(fields[i], *rules[i])) {
      return "field " + std::to_string(i + 1) + " (" + rules[i]->name + "): " + *error;
    }
  }
  return std::nullopt;
}

}  // namespace drove::config
