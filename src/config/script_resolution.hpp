// What actually runs for an app's `script`: the absolute file and its interpreter (chosen by
// extension as PM2 does), a command line run through `bash -c`, or a program found in PATH.
// Touches the file system (stat, PATH search) but nothing else.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace drove::config {

struct ResolvedScript {
  std::string exec_path;                        // absolute file, or the command line itself
  std::string interpreter;                      // "node", "python3", "bash", "none", ...
  std::vector<std::string> interpreter_prefix;  // arguments the interpreter needs first ("-c")
  std::string default_name;                     // PM2's: basename without extension
};

struct ScriptError {
  std::string message;  // "script not found: /abs/app.js"
};

struct ScriptQuery {
  std::string script;                      // as written
  std::string cwd;                         // absolute, relative scripts resolve from here
  std::optional<std::string> interpreter;  // explicit `interpreter`, if any
  std::string path_list;                   // the shell's PATH
};

// Either the resolution or why the script cannot run.
struct ScriptResolution {
  std::optional<ResolvedScript> resolved;
  std::optional<ScriptError> error;
};

ScriptResolution resolve_script(const ScriptQuery& query);

// The interpreter PM2 would pick for `path` (an existing file): by extension, "none" for an
// executable without a known extension, "node" otherwise.
// The interpreter for a script by its extension; "none" for an executable; nullopt when
// neither tells (not executable, extension unknown).
std::optional<std::string> interpreter_for(const std::string& path, const std::string& path_list);

}  // namespace drove::config
