// normalize_app(): the one function that turns an app's options as written — from an
// ecosystem file, CLI flags, or both — into an AppSpec: aliases resolved, units converted,
// defaults applied, paths absolute, the environment merged. Every rule of pm2-reference.md's
// option table lives here (or in the small helpers it calls), so a flag and a file key can
// never mean different things.
#pragma once

#include <vector>

#include "config/app_spec.hpp"
#include "config/diagnostic.hpp"
#include "config/load_context.hpp"
#include "config/raw_app.hpp"

namespace drove::config {

// Throws ConfigError at the offending option's location; harmless oddities go to `warnings`.
// `declared_env`, when given, receives the variables the app's options declare (deploy env,
// env, env_<name>, PORT) without the shell's: what a restart with the file lays over the
// app's environment, as PM2 does.
AppSpec normalize_app(const RawApp& app, const LoadContext& context, std::vector<Diagnostic>& warnings,
                      std::map<std::string, std::string>* declared_env = nullptr);

}  // namespace drove::config
