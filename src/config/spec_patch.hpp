// PM2's restart/reload with options (`pm2 restart app --node-args="--inspect"`, API._operate →
// _handleAttributeUpdate): the options given on the command line replace the app's own, the
// rest stays as it was started.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "config/app_spec.hpp"
#include "config/diagnostic.hpp"
#include "config/load_context.hpp"

namespace drove::config {

// `cli_options`: the flags given, as option keys (cli::StartOptions::to_json); `name` renames
// the app, as under PM2. Options a restart cannot change (namespace, instances, exec mode, cwd,
// script, filter_env) are a ConfigError
// naming them; `--node-args=null` (any spelling of interpreter_args) clears the arguments, as
// under PM2. The result goes through the same normaliser as a start, so it is checked alike.
struct PatchedSpec {
  AppSpec spec;
  std::map<std::string, std::string> declared_env;  // what the options declare (PORT for --port)
};
PatchedSpec patch_spec(const AppSpec& current, const nlohmann::json& cli_options, const LoadContext& context,
                       std::vector<Diagnostic>& warnings);

// What a restart does with an option (canonical name) given on its command line: applies it,
// refuses it saying what to do instead, or refuses it plainly. Never drops it silently.
enum class PatchCoverage { applied, refused_with_hint, refused, not_an_app_option };
PatchCoverage patch_coverage(const std::string& canonical);

// Whether `cli_options` holds anything patch_spec() would apply.
bool has_patch_options(const nlohmann::json& cli_options);

}  // namespace drove::config
