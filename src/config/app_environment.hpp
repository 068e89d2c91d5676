// An app's environment, as PM2 builds it: the invoking shell's variables (minus those
// `filter_env` drops), then `env`, then `env_<name>` for `--env <name>`. Values that are not
// strings become strings the way JavaScript's String() would write them.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace drove::config {

// filter_env: `true` drops everything, a list drops the variables starting with any prefix.
struct EnvFilter {
  bool drop_all = false;
  std::vector<std::string> prefixes;
};

std::map<std::string, std::string> filtered_shell_env(const std::map<std::string, std::string>& shell,
                                                      const EnvFilter& filter);

// An app that runs as another user (`uid`) gets only these of the caller's variables: PATH,
// LANG, LANGUAGE, LC_*, TZ, TERM, NODE_ENV. The caller is often root, and its shell's secrets
// must not flow into another user's process; the app's `env`/`env_<name>` are not affected.
bool reaches_other_user(const std::string& name);
std::map<std::string, std::string> other_user_shell_env(const std::map<std::string, std::string>& shell);

// 8080 → "8080", true → "true", "x" → "x", null → "", objects → their JSON text.
std::string env_value_text(const nlohmann::json& value);

// Adds every entry of the JSON object `vars` to `env`, replacing existing ones.
void merge_env(std::map<std::string, std::string>& env, const nlohmann::json& vars);

}  // namespace drove::config
