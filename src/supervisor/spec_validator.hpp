// The daemon's own check of every AppSpec it is asked to run (start, resurrect, restart
// --update-env, scale), whoever sent it: the CLI's checks are a convenience, this is the
// defence. A raw RPC client can send anything nlohmann can turn into an AppSpec; what reaches
// the supervisor must be something it can run, name on disk and count. Pure: unit-tested alone.
// The limits are documented in docs/reliability.md.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "config/app_spec.hpp"

namespace drove::supervisor {

inline constexpr std::size_t kMaxNameBytes = 128;
inline constexpr int kMaxInstancesPerApp = 4096;
inline constexpr int kMaxInstancesTotal = 16384;
inline constexpr std::int64_t kMaxDurationMs = 365LL * 24 * 3600 * 1000;  // a year

// The app names that mean something else on the command line.
bool is_reserved_name(const std::string& name);

// nullopt when `spec` can be run; else one line naming the app and the field.
std::optional<std::string> validate_spec(const AppSpec& spec);

// Environment variables as exec needs them: a non-empty name without '=' or NUL, a value
// without NUL. `app` names the app in the message.
std::optional<std::string> check_env(const std::string& app, const std::map<std::string, std::string>& env);

// `instances` more instances for the app named `name` (which has `current` of them), with
// `total` instances in the daemon: nullopt when within the caps.
std::optional<std::string> check_instance_caps(const std::string& name, int current, int target, int total);

// Names whose log and pid files would be the same file (the on-disk mapping replaces every
// character but [A-Za-z0-9._-] with '_'): `taken` maps on-disk name -> app name.
std::optional<std::string> check_disk_name(const std::string& name, const std::map<std::string, std::string>& taken);

}  // namespace drove::supervisor
