// LoadContext: what the invoking shell contributes to an app's definition — where it runs, its
// environment, the --env in force, the machine's CPU count. The config layer never reads the
// process's own state; the CLI fills this in, so loading is a function of its inputs.
#pragma once

#include <map>
#include <string>

namespace drove::config {

struct LoadContext {
  std::string cwd;                               // the invoking shell's cwd (absolute)
  std::map<std::string, std::string> shell_env;  // the invoking shell's environment
  std::string env_name;                          // --env <name>, "" if none
  int cpu_count = 1;                             // for instances max / 0 / negative
  std::string node_binary = "node";              // evaluates .js ecosystem files
  int node_timeout_ms = 15000;                   // a config that never finishes is an error
};

}  // namespace drove::config
