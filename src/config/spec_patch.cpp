#include "config/spec_patch.hpp"

#include <functional>
#include <map>
#include <string>

#include "config/normalize.hpp"
#include "config/option_names.hpp"
#include "config/raw_app.hpp"

namespace drove::config {
namespace {

using Copy = std::function<void(AppSpec& to, const AppSpec& from)>;

#define DROVE_COPY(...) [](AppSpec& to, const AppSpec& from) { __VA_ARGS__; }

// What each option sets in an AppSpec (normalize.cpp is the reference).
const std::map<std::string, Copy>& copies() {
  static const std::map<std::string, Copy> table = {
      {"name", DROVE_COPY(to.name = from.name)},  // PM2 renames the app (the daemon checks it)
      {"args", DROVE_COPY(to.args = from.args)},
      {"interpreter", DROVE_COPY(to.interpreter = from.interpreter; to.exec_path = from.exec_path)},
      {"interpreter_args", DROVE_COPY(to.interpreter_args = from.interpreter_args)},
      {"uid", DROVE_COPY(to.uid = from.uid)},
      {"gid", DROVE_COPY(to.gid = from.gid)},
      {"lb", DROVE_COPY(to.lb = from.lb)},
      {"port", DROVE_COPY(to.port = from.port)},  // its PORT variable comes with the declared env
      {"autorestart", DROVE_COPY(to.autorestart = from.autorestart)},
      {"autostart", DROVE_COPY(to.autostart = from.autostart)},
      {"min_uptime", DROVE_COPY(to.min_uptime_ms = from.min_uptime_ms)},
      {"max_restarts", DROVE_COPY(to.max_restarts = from.max_restarts)},
      {"restart_delay", DROVE_COPY(to.restart_delay_ms = from.restart_delay_ms)},
      {"exp_backoff_restart_delay", DROVE_COPY(to.exp_backoff_restart_delay_ms = from.exp_backoff_restart_delay_ms)},
      {"stop_exit_codes", DROVE_COPY(to.stop_exit_codes = from.stop_exit_codes)},
      {"kill_timeout", DROVE_COPY(to.kill_timeout_ms = from.kill_timeout_ms)},
      {"kill_signal", DROVE_COPY(to.kill_signal = from.kill_signal)},
      {"shutdown_with_message", DROVE_COPY(to.shutdown_with_message = from.shutdown_with_message)},
      {"treekill", DROVE_COPY(to.treekill = from.treekill)},
      {"wait_ready", DROVE_COPY(to.wait_ready = from.wait_ready)},
      {"listen_timeout", DROVE_COPY(to.listen_timeout_ms = from.listen_timeout_ms)},
      {"out_file", DROVE_COPY(to.out_file = from.out_file)},
      {"error_file", DROVE_COPY(to.error_file = from.error_file)},
      {"log_file", DROVE_COPY(to.log_file = from.log_file; to.log_file_default = from.log_file_default)},
      {"merge_logs", DROVE_COPY(to.merge_logs = from.merge_logs)},
      {"disable_logs", DROVE_COPY(to.disable_logs = from.disable_logs)},
      {"time", DROVE_COPY(to.time = from.time)},
      {"log_date_format", DROVE_COPY(to.log_date_format = from.log_date_format)},
      {"log_type", DROVE_COPY(to.log_type = from.log_type)},
      {"log_max_size", DROVE_COPY(to.log_max_size = from.log_max_size)},
      {"log_retain", DROVE_COPY(to.log_retain = from.log_retain)},
      {"log_compress", DROVE_COPY(to.log_compress = from.log_compress)},
      {"log_rotate_daily", DROVE_COPY(to.log_rotate_daily = from.log_rotate_daily)},
      {"pid_file", DROVE_COPY(to.pid_file = from.pid_file)},
      {"max_memory_restart", DROVE_COPY(to.max_memory_restart = from.max_memory_restart)},
      {"cron_restart", DROVE_COPY(to.cron_restart = from.cron_restart)},
      {"watch", DROVE_COPY(to.watch = from.watch; to.watch_paths = from.watch_paths)},
      {"ignore_watch", DROVE_COPY(to.ignore_watch = from.ignore_watch)},
      {"watch_delay", DROVE_COPY(to.watch_delay_ms = from.watch_delay_ms)},
      {"ipc", DROVE_COPY(to.ipc = from.ipc)},
      {"node_metrics", DROVE_COPY(to.node_metrics = from.node_metrics)},
      {"allow_privileged_ports", DROVE_COPY(to.allow_privileged_ports = from.allow_privileged_ports)},
      {"max_listeners", DROVE_COPY(to.max_listeners = from.max_listeners)},
      {"instance_var", DROVE_COPY(to.instance_var = from.instance_var)},
      {"increment_var", DROVE_COPY(to.increment_var = from.increment_var)},
  };
  return table;
}

#undef DROVE_COPY

// What a restart keeps, whatever the command line says (PM2 drops exec_mode and instances too).
const char* unchangeable_hint(const std::string& canonical) {
  if (canonical == "instances") return "use `scale`";
  if (canonical == "min_instances" || canonical == "max_instances" || canonical.rfind("scale_", 0) == 0) {
    return "delete the app and start it again with the new autoscaling options";
  }
  if (canonical == "exec_mode") return "delete the app and start it in the other mode";
  if (canonical == "namespace" || canonical == "script" || canonical == "cwd") {
    return "delete the app and start it again";
  }
  if (canonical == "filter_env") return "it filters the shell environment given at start; use --update-env";
  if (canonical == "env") return "restart the ecosystem file with --env, or use --update-env";
  if (canonical == "listen") return "the app's sockets are open; delete the app and start it again";
  if (canonical == "append_env_to_name" || canonical == "name_prefix") return "use --name";
  return nullptr;
}

std::string canonical_of(const std::string& key) {
  const KeyLookup lookup = lookup_option_key(key);
  return lookup.kind == KeyKind::option ? lookup.canonical : key;
}

}  // namespace

PatchCoverage patch_coverage(const std::string& canonical) {
  if (canonical == "force") return PatchCoverage::not_an_app_option;  // -f: for start only
  if (copies().contains(canonical)) return PatchCoverage::applied;
  if (unchangeable_hint(canonical) != nullptr) return PatchCoverage::refused_with_hint;
  return PatchCoverage::refused;
}

bool has_patch_options(const nlohmann::json& cli_options) {
  if (!cli_options.is_object()) return false;
  for (const auto& [key, value] : cli_options.items()) {
    if (key != "force" && !value.is_null()) return true;
  }
  return false;
}

PatchedSpec patch_spec(const AppSpec& current, const nlohmann::json& cli_options, const LoadContext& context,
                       std::vector<Diagnostic>& warnings) {
  const SourceLocation where{"command line"};
  nlohmann::json given = nlohmann::json::object();
  bool clear_interpreter_args = false;
  for (const auto& [key, value] : cli_options.items()) {
    if (key == "force" || value.is_null()) continue;
    const std::string canonical = canonical_of(key);
    if (const char* hint = unchangeable_hint(canonical)) {
      throw ConfigError(
          where, "a restart or reload cannot change '" + canonical + "' of '" + current.name + "' (" + hint + ")");
    }
    if (canonical == "interpreter_args" && value == "null") {
      clear_interpreter_args = true;  // PM2's --node-args=null
      continue;
    }
    given[key] = value;
  }
  // The app as it would start with these options: what it sets is copied over the app's own.
  RawApp raw;
  raw.where = where;
  apply_command_line(raw, given, warnings);
  const bool absolute = !current.exec_path.empty() && current.exec_path.front() == '/';
  raw.options["script"] = RawOption{absolute ? current.exec_path : current.script, where, "script", false};
  if (!given.contains("name")) raw.options["name"] = RawOption{current.name, where, "name", true};
  raw.options["cwd"] = RawOption{current.cwd, where, "cwd", true};
  if (!given.contains("interpreter") && !current.interpreter.empty()) {
    raw.options["interpreter"] = RawOption{current.interpreter, where, "interpreter", true};
  }
  PatchedSpec out;
  const AppSpec fresh = normalize_app(raw, context, warnings, &out.declared_env);

  AppSpec& patched = out.spec;
  patched = current;
  for (const auto& [key, value] : given.items()) {
    const std::string canonical = canonical_of(key);
    auto copy = copies().find(canonical);
    if (copy != copies().end()) {
      copy->second(patched, fresh);
    } else if (lookup_option_key(key).kind == KeyKind::option) {
      // An option with no row here would be parsed and then dropped: refused instead.
      throw ConfigError(where, "a restart or reload cannot change '" + canonical + "' of '" + current.name +
                                   "' (delete the app and start it again)");
    }  // else a key the loader warned about (PM2-only, unknown)
  }
  if (clear_interpreter_args) patched.interpreter_args.clear();
  return out;
}

}  // namespace drove::config
