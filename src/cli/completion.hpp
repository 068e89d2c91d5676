// `drove completion bash|zsh`: shell completion scripts generated from the CLI11 app itself, so
// that a new subcommand or flag is completed the day it is added. App names and ids come from the
// daemon, and only from a daemon already running: the script checks for $DROVE_HOME/drove.sock
// before it asks (`drove completion --list-apps`), so pressing Tab never starts one.
#pragma once

#include <string>
#include <vector>

#include "base/home_paths.hpp"

namespace CLI {
class App;
}

namespace drove::cli {

// What a command's positional arguments name; CLI11 knows the flags but not this.
enum class Targets { none, apps, files, files_and_apps, words };

struct CompletionFlag {
  std::string name;  // "-n" or "--name"
  bool takes_value = false;
  std::string help;
};

struct CompletionCommand {
  std::string name;
  std::vector<std::string> aliases;
  std::string help;
  std::vector<CompletionFlag> flags;
  Targets targets = Targets::none;
  std::vector<std::string> words;  // the choices, for Targets::words
};

// The visible subcommands of `app` (hidden ones, of an empty group, left out) with their visible
// flags, in the order they were added.
std::vector<CompletionCommand> completion_model(const CLI::App& app);

std::string bash_completion(const std::vector<CompletionCommand>& commands);
std::string zsh_completion(const std::vector<CompletionCommand>& commands);

// `drove completion <shell>` prints the script; `--list-apps` prints the running daemon's app
// names and ids, one a line (nothing when no daemon runs).
int cmd_completion(const CLI::App& app, const HomeLayout& home, const std::string& shell, bool list_apps);

}  // namespace drove::cli
