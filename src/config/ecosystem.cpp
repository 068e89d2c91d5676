#include "config/ecosystem.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>

#include "config/js_document.hpp"
#include "config/json_document.hpp"
#include "config/normalize.hpp"
#include "config/raw_app.hpp"
#include "config/yaml_document.hpp"

namespace drove::config {
namespace {

// PM2 merges deploy.<env>.env under the apps' env blocks when started with --env <env>.
nlohmann::json deploy_env_of(const Document& doc, const std::string& env_name) {
  if (env_name.empty()) return nullptr;
  const auto& deploy = doc.root.at("deploy");
  if (!deploy.is_object()) return nullptr;
  const auto target = deploy.find(env_name);
  if (target == deploy.end() || !target->is_object()) return nullptr;
  const auto env = target->find("env");
  if (env == target->end() || env->is_null()) return nullptr;
  if (!env->is_object()) {
    const std::string pointer = (nlohmann::json::json_pointer("/deploy") / env_name / "env").to_string();
    throw ConfigError(doc.locate(pointer), "'deploy." + env_name + ".env' must be an object of variables");
  }
  return *env;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_js(const std::string& path) {
  return ends_with(path, ".js") || ends_with(path, ".cjs") || ends_with(path, ".mjs");
}

// Ecosystem files are a few kilobytes; anything this large is a mistake (or an attack on
// whoever loads it), refused before it is parsed.
constexpr std::size_t kMaxDocumentBytes = 16u * 1024u * 1024u;

void check_document_size(const std::string& display_name, std::size_t bytes) {
  if (bytes > kMaxDocumentBytes) {
    throw ConfigError(SourceLocation{display_name}, "is " + std::to_string(bytes) +
                                                        " bytes; ecosystem files are limited to " +
                                                        std::to_string(kMaxDocumentBytes >> 20) + " MiB");
  }
}

Document read_document(const std::string& path, const LoadContext& context) {
  namespace fs = std::filesystem;
  if (path == "-") {
    std::string text;
    char chunk[65536];
    while (std::cin.read(chunk, sizeof chunk) || std::cin.gcount() > 0) {
      text.append(chunk, static_cast<std::size_t>(std::cin.gcount()));
      check_document_size("<stdin>", text.size());
    }
    return parse_json_document(text, "<stdin>", context.cwd);
  }
  const fs::path absolute = (fs::path(context.cwd) / path).lexically_normal();
  if (fs::is_directory(absolute)) throw ConfigError(SourceLocation{path}, "is a directory, not an ecosystem file");
  if (is_js(path)) return evaluate_js_document(path, context);
  std::ifstream file(absolute, std::ios::binary);
  if (!file) throw ConfigError(SourceLocation{path}, std::string("cannot read: ") + std::strerror(errno));
  std::error_code size_error;
  if (const auto bytes = fs::file_size(absolute, size_error); !size_error) check_document_size(path, bytes);
  std::stringstream text;
  text << file.rdbuf();
  check_document_size(path, text.str().size());
  const std::string base_dir = absolute.parent_path().string();
  if (ends_with(path, ".yml") || ends_with(path, ".yaml")) return parse_yaml_document(text.str(), path, base_dir);
  return parse_json_document(text.str(), path, base_dir);
}

// Where the app objects are: {apps: [...]}, [...], or the root is one app.
std::vector<std::string> app_pointers(const Document& doc) {
  const SourceLocation top{doc.display_name};
  std::string list_pointer;
  const nlohmann::json* list = nullptr;
  // PM2 also takes its apps under "pm2" (a package.json's section): the same as "apps".
  const char* key = doc.root.is_object() && !doc.root.contains("apps") && doc.root.contains("pm2") ? "pm2" : "apps";
  if (doc.root.is_object() && doc.root.contains(key)) {
    list_pointer = std::string("/") + key;
    list = &doc.root[key];
    if (list->is_object()) return {list_pointer};  // a single app under apps:
    if (!list->is_array())
      throw ConfigError(doc.locate(list_pointer),
                        "'" + std::string(key) + "' must be a list of apps, got " +
                            list->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else if (doc.root.is_array()) {
    list = &doc.root;
  } else if (doc.root.is_object()) {
    return {""};
  } else {
    throw ConfigError(
        top, "expected {apps: [...]}, a list of apps or one app, got " +
                 (doc.root.is_null() ? std::string("nothing")
                                     : doc.root.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  }
  std::vector<std::string> pointers;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string pointer = list_pointer + "/" + std::to_string(i);
    if (!(*list)[i].is_object()) {
      throw ConfigError(doc.locate(pointer),
                        "app #" + std::to_string(i + 1) + " must be an object, got " +
                            (*list)[i].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    pointers.push_back(pointer);
  }
  if (pointers.empty()) throw ConfigError(top, "no apps defined");
  return pointers;
}

std::string written_name(const RawApp& app) {
  auto it = app.options.find("name");
  return it != app.options.end() && it->second.value.is_string() ? it->second.value.get<std::string>() : "";
}

}  // namespace

bool looks_like_ecosystem_file(const std::string& path) {
  if (path == "-") return true;
  if (ends_with(path, ".json") || ends_with(path, ".yml") || ends_with(path, ".yaml")) return true;
  if (!is_js(path)) return false;
  const std::string base = std::filesystem::path(path).filename().string();
  return base.find(".config.") != std::string::npos || base.rfind("ecosystem", 0) == 0;
}

Loaded load_ecosystem(const std::string& path_or_dash, const nlohmann::json& cli_overrides, const LoadContext& context,
                      const std::vector<std::string>& only) {
  return load_ecosystem_document(read_document(path_or_dash, context), cli_overrides, context, only);
}

Loaded load_ecosystem_document(const Document& doc, const nlohmann::json& cli_overrides, const LoadContext& context,
                               const std::vector<std::string>& only) {
  namespace fs = std::filesystem;
  Loaded loaded;
  std::string source_file;
  if (doc.display_name != "<stdin>")
    source_file = (fs::path(context.cwd) / doc.display_name).lexically_normal().string();
  std::vector<std::string> only_unmatched = only;
  nlohmann::json deploy_env;
  if (doc.root.is_object() && doc.root.contains("apps") && doc.root.contains("deploy")) {
    loaded.warnings.emplace_back(doc.locate("/deploy"),
                                 "'deploy' is for PM2's deploy command, which drove does not have (only "
                                 "deploy.<env>.env is used, with --env)");
    deploy_env = deploy_env_of(doc, context.env_name);
  }
  std::map<std::string, SourceLocation> seen_names;
  for (const auto& pointer : app_pointers(doc)) {
    RawApp raw = collect_raw_app(doc, pointer, loaded.warnings);
    raw.source_file = source_file;
    raw.deploy_env = deploy_env;
    apply_command_line(raw, cli_overrides, loaded.warnings);
    std::map<std::string, std::string> declared;
    AppSpec spec = normalize_app(raw, context, loaded.warnings, &declared);

    auto [previous, fresh] = seen_names.emplace(spec.name, raw.where);
    if (!fresh) {
      std::string first =
          previous->second.line > 0 ? " (first defined at line " + std::to_string(previous->second.line) + ")" : "";
      throw ConfigError(raw.where, "duplicate app name '" + spec.name + "'" + first);
    }
    const std::string as_written = written_name(raw);
    const bool wanted = only.empty() || std::find_if(only.begin(), only.end(), [&](const std::string& n) {
                                          return n == spec.name || n == as_written;
                                        }) != only.end();
    std::erase_if(only_unmatched, [&](const std::string& n) { return n == spec.name || n == as_written; });
    if (wanted) {
      loaded.declared_env[spec.name] = std::move(declared);
      loaded.apps.push_back(std::move(spec));
    }
  }
  // Per app, keys arrive in alphabetical order; the user reads the file top to bottom.
  const auto order = [&doc](const Diagnostic& d) { return std::make_pair(d.file != doc.display_name, d.line); };
  std::stable_sort(loaded.warnings.begin(), loaded.warnings.end(),
                   [&order](const Diagnostic& a, const Diagnostic& b) { return order(a) < order(b); });
  for (const auto& name : only_unmatched) {
    loaded.warnings.emplace_back(SourceLocation{doc.display_name}, "--only: no app named '" + name + "'");
  }
  return loaded;
}

Loaded app_from_script(const std::string& script, const nlohmann::json& cli_options, const LoadContext& context) {
  Loaded loaded;
  RawApp raw;
  raw.where = SourceLocation{script};
  apply_command_line(raw, cli_options, loaded.warnings);
  // The script is named in messages about it: "app.js: script not found: /srv/app.js".
  raw.options["script"] = RawOption{script, SourceLocation{script}, "script", true};
  std::map<std::string, std::string> declared;
  loaded.apps.push_back(normalize_app(raw, context, loaded.warnings, &declared));
  loaded.declared_env[loaded.apps.back().name] = std::move(declared);
  return loaded;
}

}  // namespace drove::config
