#include "config/yaml_document.hpp"

#include <yaml-cpp/yaml.h>

#include <regex>

namespace drove::config {
namespace {

// YAML 1.2 core schema resolution of an untagged plain scalar.
nlohmann::json plain_scalar(const std::string& text) {
  static const std::regex null_re("^(~|null|Null|NULL)?$");
  static const std::regex true_re("^(true|True|TRUE)$");
  static const std::regex false_re("^(false|False|FALSE)$");
  static const std::regex int_re("^[-+]?[0-9]+$");
  static const std::regex hex_re("^0x[0-9a-fA-F]+$");
  static const std::regex octal_re("^0o[0-7]+$");
  static const std::regex float_re(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
  if (std::regex_match(text, null_re)) return nullptr;
  if (std::regex_match(text, true_re)) return true;
  if (std::regex_match(text, false_re)) return false;
  try {
    if (std::regex_match(text, int_re)) return std::stoll(text);
    if (std::regex_match(text, hex_re)) return std::stoll(text.substr(2), nullptr, 16);
    if (std::regex_match(text, octal_re)) return std::stoll(text.substr(2), nullptr, 8);
    if (std::regex_match(text, float_re)) return std::stod(text);
  } catch (const std::out_of_range&) {
    return text;  // too large for a number: leave it as written, validation will say so
  }
  return text;
}

nlohmann::json scalar(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  if (tag == "?") return plain_scalar(node.Scalar());
  if (tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" ||
      tag == "tag:yaml.org,2002:bool" || tag == "tag:yaml.org,2002:null") {
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

  nlohmann::json convert(const YAML::Node& node, const std::string& pointer) {
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: return nullptr;
      case YAML::NodeType::Scalar: return scalar(node);
      case YAML::NodeType::Sequence: {
        nlohmann::json array = nlohmann::json::array();
        for (std::size_t i = 0; i < node.size(); ++i) {
          const std::string child = pointer_append(pointer, std::to_string(i));
          doc_.positions[child] = at(node[i], doc_.display_name);
          array.push_back(convert(node[i], child));
        }
        return array;
      }
      case YAML::NodeType::Map: return convert_map(node, pointer);
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
};

}  // namespace

Document parse_yaml_document(const std::string& text, const std::string& display_name,
                             const std::string& base_dir) {
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
