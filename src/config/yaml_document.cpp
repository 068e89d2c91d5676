#include "config/yaml_document.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <string_view>

namespace drove::config {
namespace {

bool all_of_class(std::string_view text, bool (*in_class)(char)) {
  return !text.empty() && std::all_of(text.begin(), text.end(), in_class);
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_octal(char c) { return c >= '0' && c <= '7'; }

std::string_view without_sign(std::string_view text) {
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) text.remove_prefix(1);
  return text;
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_float(std::string_view text) {
  text = without_sign(text);
  const auto exponent_at = text.find_first_of("eE");
  std::string_view mantissa = text.substr(0, exponent_at);
  if (exponent_at != std::string_view::npos && !all_of_class(without_sign(text.substr(exponent_at + 1)), is_digit))
    return false;
  const auto dot = mantissa.find('.');
  if (dot == std::string_view::npos) return all_of_class(mantissa, is_digit);
  const auto whole = mantissa.substr(0, dot);
  const auto fraction = mantissa.substr(dot + 1);
  if (whole.empty()) return all_of_class(fraction, is_digit);
  return all_of_class(whole, is_digit) && (fraction.empty() || all_of_class(fraction, is_digit));
}

// YAML 1.2 core schema resolution of an untagged plain scalar. Hand-written matchers: std::regex
// recurses per character and a 100,000-digit scalar overflowed the stack.
nlohmann::json plain_scalar(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  const std::string_view view(text);
  try {
    if (all_of_class(without_sign(view), is_digit)) return std::stoll(text);
    if (view.substr(0, 2) == "0x" && all_of_class(view.substr(2), is_hex))
      return std::stoll(text.substr(2), nullptr, 16);
    if (view.substr(0, 2) == "0o" && all_of_class(view.substr(2), is_octal))
      return std::stoll(text.substr(2), nullptr, 8);
    if (is_float(view)) {
      const double value = std::stod(text);
      if (std::isfinite(value)) return value;
    }
  } catch (const std::out_of_range&) {
    return text;  // too large for a number: leave it as written, validation will say so
  }
  return text;
}

nlohmann::json scalar(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  if (tag == "?") return plain_scalar(node.Scalar());
  if (tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" || tag == "tag:yaml.org,2002:bool" ||
      tag == "tag:yaml.org,2002:null") {
    return plain_scalar(node.Scalar());
  }
  return node.Scalar();  // quoted, or !!str
}

SourceLocation at(const YAML::Node& node, const std::string& file) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return SourceLocation{file, 0, 0};
  return SourceLocation{file, mark.line + 1, 0};  // keys are reported by line, as in JSON
}

class Converter {
 public:
  explicit Converter(Document& doc) : doc_(doc) {}

  // Aliases make the node graph a DAG or, with a self-reference (`x: &a` / `  y: *a`), a cycle:
  // bound the depth and the total of nodes expanded (alias "billion laughs").
  static constexpr int kMaxDepth = 64;
  static constexpr std::size_t kMaxNodes = 200'000;

  nlohmann::json convert(const YAML::Node& node, const std::string& pointer) {
    if (depth_ >= kMaxDepth) {
      throw ConfigError(at(node, doc_.display_name), "nested deeper than " + std::to_string(kMaxDepth) +
                                                         " levels (an alias that refers to itself?)");
    }
    if (++nodes_ > kMaxNodes) {
      throw ConfigError(at(node, doc_.display_name),
                        "more than " + std::to_string(kMaxNodes) + " values once aliases are expanded");
    }
    struct Level {
      int& depth;
      explicit Level(int& d) : depth(d) { ++depth; }
      ~Level() { --depth; }
      Level(const Level&) = delete;
      Level& operator=(const Level&) = delete;
    } level(depth_);
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return nullptr;
      case YAML::NodeType::Scalar:
        return scalar(node);
      case YAML::NodeType::Sequence: {
        nlohmann::json array = nlohmann::json::array();
        for (std::size_t i = 0; i < node.size(); ++i) {
          const std::string child = pointer_append(pointer, std::to_string(i));
          doc_.positions[child] = at(node[i], doc_.display_name);
          array.push_back(convert(node[i], child));
        }
        return array;
      }
      case YAML::NodeType::Map:
        return convert_map(node, pointer);
    }
    return nullptr;
  }

 private:
  nlohmann::json convert_map(const YAML::Node& node, const std::string& pointer) {
    nlohmann::json object = nlohmann::json::object();
    std::vector<YAML::Node> merges;
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      if (key == "<<" && entry.first.Tag() == "?") {  // merge key, as js-yaml supports
        merges.push_back(entry.second);
        continue;
      }
      const std::string child = pointer_append(pointer, key);
      doc_.positions[child] = at(entry.first, doc_.display_name);
      object[key] = convert(entry.second, child);
    }
    // Keys written in the mapping itself win over merged ones.
    for (const auto& merge : merges) {
      std::vector<YAML::Node> sources;
      if (merge.IsSequence()) {
        for (const auto& item : merge) sources.push_back(item);
      } else {
        sources.push_back(merge);
      }
      for (const auto& source : sources) {
        if (!source.IsMap()) continue;
        for (const auto& entry : source) {
          const std::string key = entry.first.Scalar();
          if (object.contains(key)) continue;
          const std::string child = pointer_append(pointer, key);
          doc_.positions[child] = at(entry.first, doc_.display_name);
          object[key] = convert(entry.second, child);
        }
      }
    }
    return object;
  }

  Document& doc_;
  int depth_ = 0;
  std::size_t nodes_ = 0;
};

}  // namespace

Document parse_yaml_document(const std::string& text, const std::string& display_name, const std::string& base_dir) {
  Document doc;
  doc.display_name = display_name;
  doc.base_dir = base_dir;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& error) {
    SourceLocation where{display_name, 0, 0};
    if (!error.mark.is_null()) where = SourceLocation{display_name, error.mark.line + 1, error.mark.column + 1};
    throw ConfigError(where, error.msg);
  }
  doc.root = Converter(doc).convert(root, "");
  return doc;
}

}  // namespace drove::config
