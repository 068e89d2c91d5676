// PM2's start flags: registered on a CLI11 command, and turned into the option keys of an
// ecosystem file (snake_case), so that a flag and the same key in a file produce the same
// AppSpec (src/config does the rest).
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace drove::cli {

struct StartOptions {
  std::map<std::string, std::string> values;  // option key → value as typed
  std::map<std::string, bool> switches;       // option key → value when the flag is given
  std::map<std::string, CLI::Option*> given;  // option key → its CLI11 option (count() > 0 when given)
  std::vector<std::string> stop_exit_codes;
  std::vector<std::string> filter_env;
  std::vector<std::string> watch;
  std::vector<std::string> ignore_watch;
  std::string env_name;                    // --env
  std::string only;                        // --only a,b
  bool update_env = false;                 // -a / --update-env
  CLI::Option* execute_command = nullptr;  // -x / --execute-command
  bool toggle_watch = false;               // `restart --watch`: PM2 toggles watching

  void add_to(CLI::App& command);
  // The app's option flags only (not --env/--only/--update-env), for `restart`/`reload`, which
  // apply them to the apps they cycle; `with_watch` false leaves --watch to the command.
  void add_app_flags_to(CLI::App& command, bool with_watch);
  // The flags given, as option keys; `app_args` (after --) become "args".
  [[nodiscard]] nlohmann::json to_json(const std::vector<std::string>& app_args) const;
  [[nodiscard]] std::vector<std::string> only_list() const;
  // -i given without -x or --exec-mode: a Node script runs in cluster mode.
  [[nodiscard]] bool instances_mean_cluster() const;
};

}  // namespace drove::cli
