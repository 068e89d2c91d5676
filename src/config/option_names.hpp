// The vocabulary of app options: every canonical (snake_case) key drove understands, PM2's
// aliases and camelCase spellings of each, the PM2 keys drove knows but has no use for, and
// "did you mean" suggestions for everything else.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace drove::config {

enum class KeyKind {
  option,       // canonical names the option; `canonical` is set
  environment,  // env_<name>: kept as written
  ignored,      // a PM2 key with no meaning in drove (vizion, pmx, ...)
  unknown,
};

struct KeyLookup {
  KeyKind kind = KeyKind::unknown;
  std::string canonical;
};

// "maxRestarts" → {option, "max_restarts"}; "cmd" → {option, "script"}; "env_production" →
// {environment, "env_production"}.
KeyLookup lookup_option_key(const std::string& key);

// The closest known spelling, if it is close enough to be a likely typo.
std::optional<std::string> suggest_option_key(const std::string& unknown_key);

// The option table, for the test that holds every option to a test or a documented warning:
// canonical names drove acts on, and PM2 keys it accepts and ignores with a warning.
std::vector<std::string> canonical_option_names();
std::vector<std::string> ignored_pm2_keys();

// Damerau-Levenshtein (optimal string alignment) distance: "scirpt" is 1 away from "script".
size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace drove::config
