// RawApp: one app's options as written, keyed by canonical option name, each remembering where
// it was written — the input of normalisation. Built from an ecosystem file's app object or
// from the CLI's flags; CLI values replace file values key by key (`env` is merged).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "config/diagnostic.hpp"
#include "config/document.hpp"

namespace drove::config {

struct RawOption {
  nlohmann::json value;
  SourceLocation where;
  std::string written_key;         // as the user spelled it, for messages
  bool from_command_line = false;  // relative paths then resolve from the shell's cwd
};

struct RawApp {
  std::map<std::string, RawOption> options;  // canonical key, or env_<name> as written
  SourceLocation where;                      // the app object itself
  std::string base_dir;                      // where relative paths of the file resolve from
  std::string source_file;                   // absolute path of the ecosystem file, "" for CLI
  nlohmann::json deploy_env;                 // the file's deploy.<--env>.env (an object), or null
};

// Reads one app object at `pointer` of `doc`. Unknown and ignored keys become warnings.
RawApp collect_raw_app(const Document& doc, const std::string& pointer, std::vector<Diagnostic>& warnings);

// Lays CLI options (PM2 keys, any accepted spelling) over `app`. Unknown keys are warnings.
void apply_command_line(RawApp& app, const nlohmann::json& cli_options, std::vector<Diagnostic>& warnings);

}  // namespace drove::config
