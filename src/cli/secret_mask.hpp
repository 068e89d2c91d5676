// Hiding secret-looking environment variables in what `jlist`, `prettylist` and `describe`
// print. Off by default (PM2 prints every variable); on with `--mask-secrets` or
// DROVE_MASK_SECRETS=1. Names are matched case-insensitively against glob patterns ('*' = any
// run of characters); DROVE_SECRET_PATTERNS="A,B,..." replaces the default list.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace drove::cli {

inline constexpr const char* kHiddenValue = "[hidden]";

// *_TOKEN, *_SECRET, *SECRET*, *PASSWORD*, *PASSWD*, *_KEY, *_KEY_*, *CREDENTIALS*, *_PASS.
std::vector<std::string> default_secret_patterns();
// DROVE_SECRET_PATTERNS when set (comma-separated, blanks ignored), else the defaults.
std::vector<std::string> secret_patterns_from_env();
// True when DROVE_MASK_SECRETS is set to something other than "", "0", "false", "no".
bool mask_secrets_from_env();

bool matches_secret_pattern(const std::string& name, const std::vector<std::string>& patterns);

// Replaces the values of matching variables in every process's `spec.env` (the daemon's
// `list`/`describe` reply) with "[hidden]".
void mask_secret_env(nlohmann::json& processes, const std::vector<std::string>& patterns);

}  // namespace drove::cli
