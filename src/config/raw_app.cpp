#include "config/raw_app.hpp"

#include "config/option_names.hpp"

namespace drove::config {
namespace {

// Adds one key to `app`, or explains in `warnings` why it was not taken.
void add_option(RawApp& app, const std::string& key, const nlohmann::json& value, const SourceLocation& where,
                bool from_command_line, std::vector<Diagnostic>& warnings) {
  const KeyLookup lookup = lookup_option_key(key);
  switch (lookup.kind) {
    case KeyKind::unknown: {
      std::string message = "unknown option '" + key + "'";
      if (auto suggestion = suggest_option_key(key)) message += " (did you mean '" + *suggestion + "'?)";
      warnings.emplace_back(where, message);
      return;
    }
    case KeyKind::ignored:
      warnings.emplace_back(where, "option '" + key + "' has no effect in drove (ignored)");
      return;
    case KeyKind::option:
    case KeyKind::environment:
      break;
  }
  RawOption option{value, where, key, from_command_line};
  auto [it, inserted] = app.options.emplace(lookup.canonical, option);
  if (inserted) return;
  if (from_command_line && !it->second.from_command_line) {
    if (lookup.canonical == "env" && value.is_object() && it->second.value.is_object()) {
      option.value = it->second.value;
      option.value.update(value);  // per variable: the flag's value wins
    }
    it->second = std::move(option);
    return;
  }
  // Two spellings of one option in the same place: the canonical spelling wins, else the
  // first one seen, and the user hears about it.
  const bool keep_new = key == lookup.canonical;
  warnings.emplace_back(where, "'" + key + "' and '" + it->second.written_key + "' set the same option; using '" +
                                   (keep_new ? key : it->second.written_key) + "'");
  if (keep_new) it->second = std::move(option);
}

}  // namespace

RawApp collect_raw_app(const Document& doc, const std::string& pointer, std::vector<Diagnostic>& warnings) {
  RawApp app;
  app.where = doc.locate(pointer);
  if (app.where.line == 0 && pointer.empty() && !doc.positions.empty()) app.where.line = 1;
  app.base_dir = doc.base_dir;
  const nlohmann::json& object = doc.root.at(nlohmann::json::json_pointer(pointer));
  for (const auto& [key, value] : object.items()) {
    add_option(app, key, value, doc.locate(pointer_append(pointer, key)), false, warnings);
  }
  return app;
}

void apply_command_line(RawApp& app, const nlohmann::json& cli_options, std::vector<Diagnostic>& warnings) {
  if (!cli_options.is_object()) return;
  for (const auto& [key, value] : cli_options.items()) {
    if (value.is_null()) continue;
    add_option(app, key, value, SourceLocation{}, true, warnings);
  }
}

}  // namespace drove::config
