// Loading apps the way `drove start` is given them: an ecosystem file (JSON, YAML, JS), JSON
// on stdin ("-"), or a script plus CLI flags. Both paths end in normalize_app(), so a flag and
// the same key in a file produce the same AppSpec.
//
// Runs in the CLI process, never in the daemon (JS files run node synchronously). Loading is
// all-or-nothing: the first error throws ConfigError, whose what() is one line naming
// file:line (and column when the parser knows it); the CLI prints it and exits non-zero.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "config/app_spec.hpp"
#include "config/diagnostic.hpp"
#include "config/document.hpp"
#include "config/load_context.hpp"

namespace drove::config {

struct Loaded {
  std::vector<AppSpec> apps;
  // Per app name: the variables its options declare, without the shell's (normalize_app).
  std::map<std::string, std::map<std::string, std::string>> declared_env;
  std::vector<Diagnostic> warnings;  // print them (Diagnostic::str()), then go on
};

// PM2's rule, widened a little: "-", *.json, *.yml, *.yaml, *.config.{js,cjs,mjs}, and
// ecosystem*.{js,cjs,mjs}. Anything else given to `start` is a script.
bool looks_like_ecosystem_file(const std::string& path);

// Loads every app of the file ("-": JSON from stdin). `cli_overrides` (PM2 option keys, any
// spelling) is laid over each app. `only` keeps the apps whose name is listed (--only);
// all apps are validated regardless.
Loaded load_ecosystem(const std::string& path_or_dash, const nlohmann::json& cli_overrides, const LoadContext& context,
                      const std::vector<std::string>& only = {});

// The same, from an already parsed document (stdin, tests, other front ends).
Loaded load_ecosystem_document(const Document& doc, const nlohmann::json& cli_overrides, const LoadContext& context,
                               const std::vector<std::string>& only = {});

// `drove start app.js --name x -i 2 -- a b`: `script` as typed, the flags as option keys
// (the app's arguments under "args").
Loaded app_from_script(const std::string& script, const nlohmann::json& cli_options, const LoadContext& context);

}  // namespace drove::config
