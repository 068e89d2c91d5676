#include "config/script_resolution.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "process/spawn.hpp"

namespace drove::config {
namespace {

bool has_blank(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t'; });
}

bool in_path(const std::string& program, const std::string& path_list) {
  auto found = process::find_executable(program, path_list);
  return found && ::access(found->c_str(), X_OK) == 0;
}

}  // namespace

std::optional<std::string> interpreter_for(const std::string& path, const std::string& path_list) {
  static const std::map<std::string, std::string> by_extension = {
      {".js", "node"}, {".cjs", "node"}, {".mjs", "node"}, {".py", "python3"},    {".sh", "bash"}, {".bash", "bash"},
      {".rb", "ruby"}, {".php", "php"},  {".pl", "perl"},  {".coffee", "coffee"}, {".ls", "lsc"}};
  const std::string extension = std::filesystem::path(path).extension().string();
  if (auto it = by_extension.find(extension); it != by_extension.end()) return it->second;
  if (extension == ".ts" || extension == ".tsx" || extension == ".mts") {
    if (in_path("ts-node", path_list)) return "ts-node";
    if (in_path("bun", path_list)) return "bun";
    return "ts-node";
  }
  if (::access(path.c_str(), X_OK) == 0) return "none";
  // PM2 runs anything else under node, which turns a typo into a crash loop of SyntaxErrors;
  // drove says what is wrong instead.
  return std::nullopt;
}

ScriptResolution resolve_script(const ScriptQuery& query) {
  namespace fs = std::filesystem;
  const std::string candidate = (fs::path(query.cwd) / query.script).lexically_normal().string();
  struct stat st {};
  if (::stat(candidate.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {std::nullopt, ScriptError{"script is a directory: " + candidate}};
    ResolvedScript out;
    out.exec_path = candidate;
    if (query.interpreter) {
      out.interpreter = *query.interpreter;
    } else if (auto found = interpreter_for(candidate, query.path_list)) {
      out.interpreter = *found;
    } else {
      return {std::nullopt, ScriptError{"script is not executable and has no known extension: " + candidate +
                                        " (chmod +x it, or give --interpreter)"}};
    }
    out.default_name = fs::path(candidate).stem().string();
    return {out, std::nullopt};
  }
  if (has_blank(query.script)) {
    // A command line: PM2 runs it as `bash -c "<script>"`.
    ResolvedScript out;
    out.exec_path = query.script;
    out.interpreter = "bash";
    out.interpreter_prefix = {"-c"};
    const std::string first_word = query.script.substr(0, query.script.find_first_of(" \t"));
    out.default_name = fs::path(first_word).filename().string();
    return {out, std::nullopt};
  }
  if (query.script.find('/') == std::string::npos) {
    if (auto found = process::find_executable(query.script, query.path_list)) {
      ResolvedScript out;
      out.exec_path = *found;
      out.interpreter = query.interpreter ? *query.interpreter : "none";
      out.default_name = query.script;
      return {out, std::nullopt};
    }
  }
  return {std::nullopt, ScriptError{"script not found: " + candidate}};
}

}  // namespace drove::config
