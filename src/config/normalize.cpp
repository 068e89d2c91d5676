#include "config/normalize.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "config/app_environment.hpp"
#include "config/cron_syntax.hpp"
#include "config/listen_option.hpp"
#include "config/option_reader.hpp"
#include "config/script_resolution.hpp"
#include "process/spawn.hpp"

namespace drove::config {
namespace {

using Reader = OptionReader;

std::string shell_var(const LoadContext& context, const std::string& key) {
  auto it = context.shell_env.find(key);
  return it == context.shell_env.end() ? std::string() : it->second;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// [A-Za-z_][A-Za-z0-9_]*, by hand: std::regex recurses per character on long input.
bool is_env_name(const std::string& name) {
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (name.empty() || !alpha(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

void read_cwd_and_script(const Reader& in, const RawApp& app, const LoadContext& context, AppSpec& spec,
                         std::string& default_name, std::vector<Diagnostic>& warnings) {
  spec.cwd = app.base_dir.empty() ? context.cwd : app.base_dir;
  if (auto cwd = in.text("cwd")) {
    spec.cwd = in.absolute_path(*in.find("cwd"), *cwd);
    if (!is_directory(spec.cwd)) in.fail(*in.find("cwd"), "cwd is not a directory: " + spec.cwd);
  }
  auto script = in.text("script");
  if (!script) {
    if (!in.find("name")) throw ConfigError(app.where, "app has neither 'script' nor 'name'");
    throw ConfigError(app.where, "app '" + in.text("name").value_or("") + "' has no 'script'");
  }
  if (script->empty()) in.fail(*in.find("script"), "'script' is empty");
  spec.script = *script;

  std::optional<std::string> interpreter = in.text("interpreter");
  if (interpreter && interpreter->empty()) interpreter.reset();
  const std::string path_list = shell_var(context, "PATH");
  // A script relative to a CLI flag's --cwd resolves there; one from a file, from the app's cwd.
  ScriptResolution resolution = resolve_script({*script, spec.cwd, interpreter, path_list});
  if (resolution.error) in.fail(*in.find("script"), resolution.error->message);
  spec.exec_path = resolution.resolved->exec_path;
  spec.interpreter = resolution.resolved->interpreter;
  spec.interpreter_args = in.words("interpreter_args").value_or(std::vector<std::string>{});
  for (const auto& arg : resolution.resolved->interpreter_prefix) spec.interpreter_args.push_back(arg);
  default_name = resolution.resolved->default_name;
  spec.args = in.words("args").value_or(std::vector<std::string>{});

  if (interpreter && *interpreter != "none") {
    const RawOption& option = *in.find("interpreter");
    if (interpreter->find('/') != std::string::npos) {
      spec.interpreter = in.absolute_path(option, *interpreter, spec.cwd);
      if (::access(spec.interpreter.c_str(), X_OK) != 0) in.fail(option, "interpreter not found: " + spec.interpreter);
    } else if (!process::find_executable(*interpreter, path_list)) {
      warnings.emplace_back(option.where, "interpreter '" + *interpreter + "' was not found in PATH");
    }
  }
}

void read_name(const Reader& in, const LoadContext& context, const std::string& default_name, AppSpec& spec) {
  spec.name = in.text("name").value_or(default_name);
  if (spec.name.empty()) {
    // No usable name: an empty 'name', or none and a script whose file name gives none (found by
    // the ecosystem_yaml fuzzer: *in.find("name") was a null reference then).
    if (const RawOption* name = in.find("name")) in.fail(*name, "'name' is empty");
    in.fail(*in.find("script"), "no name can be derived from 'script'; set 'name'");
  }
  // A number is a valid name, as under PM2 (`--name 455`): a target that is a number means the
  // app of that name when there is one, else the id (Supervisor::resolve).
  if (auto prefix = in.text("name_prefix"); prefix && !prefix->empty()) spec.name = *prefix + ":" + spec.name;
  if (in.flag("append_env_to_name").value_or(false) && !context.env_name.empty()) {
    spec.name += "-" + context.env_name;
  }
  if (auto ns = in.text("namespace")) {
    if (ns->empty()) in.fail(*in.find("namespace"), "'namespace' is empty");
    spec.namespace_name = *ns;
  }
}

const char* const kScaleKeys[] = {"min_instances",   "scale_metric",      "scale_target",    "scale_up_step",
                                  "scale_down_step", "scale_up_cooldown", "scale_down_delay"};

// Autoscaling is on when max_instances is set; every other knob has a default
// (docs/cluster.md, "Autoscaling"). A knob without max_instances would do nothing: refused.
std::optional<Autoscale> read_autoscale(const Reader& in) {
  const RawOption* max = in.find("max_instances");
  if (!max) {
    for (const char* key : kScaleKeys) {
      if (const RawOption* orphan = in.find(key)) {
        in.fail(*orphan, "'" + orphan->written_key + "' needs 'max_instances' (autoscaling is off without it)");
      }
    }
    return std::nullopt;
  }
  Autoscale scale;
  scale.max_instances = static_cast<int>(*in.whole_number("max_instances", 1, 4096));
  scale.min_instances = static_cast<int>(in.whole_number("min_instances", 1, 4096).value_or(1));
  if (scale.min_instances > scale.max_instances) {
    in.fail(*in.find("min_instances"), fmt::format("'min_instances' ({}) is above 'max_instances' ({})",
                                                   scale.min_instances, scale.max_instances));
  }
  if (auto metric = in.text("scale_metric")) {
    auto parsed = parse_scale_metric(*metric);
    if (!parsed) in.fail_expected(*in.find("scale_metric"), "cpu, pending or loadavg");
    scale.metric = *parsed;
  }
  scale.target = in.number("scale_target", 0, 1e6).value_or(default_scale_target(scale.metric));
  scale.up_step = static_cast<int>(in.whole_number("scale_up_step", 0, 4096).value_or(scale.up_step));
  scale.down_step = static_cast<int>(in.whole_number("scale_down_step", 1, 4096).value_or(scale.down_step));
  scale.up_cooldown_ms = in.duration_ms("scale_up_cooldown").value_or(scale.up_cooldown_ms);
  scale.down_delay_ms = in.duration_ms("scale_down_delay").value_or(scale.down_delay_ms);
  return scale;
}

void read_instances(const Reader& in, const LoadContext& context, AppSpec& spec) {
  const RawOption* option = in.find("instances");
  bool many = false;
  if (option) {
    const bool is_max = option->value == "max";
    auto number = json_whole_number(option->value);
    if ((!is_max && !number) || option->value.is_boolean()) in.fail_expected(*option, "a number or \"max\"");
    const int cpus = std::max(1, context.cpu_count);
    const std::int64_t requested = is_max ? 0 : *number;
    if (requested > 4096) in.fail_expected(*option, "at most 4096 (the daemon's per-app limit)");
    std::int64_t count = requested > 0 ? requested : cpus + requested;
    spec.instances = static_cast<int>(std::max<std::int64_t>(1, count));
    spec.instances_requested = is_max ? "max" : std::to_string(requested);
    many = requested != 1;
  }
  spec.autoscale = read_autoscale(in);
  if (spec.autoscale) {
    const Autoscale& scale = *spec.autoscale;
    if (!option) {
      spec.instances = scale.min_instances;  // it starts small and grows with the load
      spec.instances_requested = std::to_string(scale.min_instances);
    } else if (spec.instances < scale.min_instances || spec.instances > scale.max_instances) {
      in.fail(*option, fmt::format("'{}' is {}, outside min_instances..max_instances ({}..{})", option->written_key,
                                   spec.instances, scale.min_instances, scale.max_instances));
    }
    many = many || scale.max_instances > 1;
  }
  const bool node = std::filesystem::path(spec.interpreter).filename().string().rfind("node", 0) == 0;
  spec.exec_mode = many && node ? ExecMode::cluster : ExecMode::fork;
  if (auto mode = in.text("exec_mode")) {
    if (*mode == "fork" || *mode == "fork_mode")
      spec.exec_mode = ExecMode::fork;
    else if (*mode == "cluster" || *mode == "cluster_mode")
      spec.exec_mode = ExecMode::cluster;
    else
      in.fail_expected(*in.find("exec_mode"), "\"fork\" or \"cluster\"");
  }
  if (auto lb = in.text("lb")) {
    auto parsed = parse_load_balance(*lb);
    if (!parsed) in.fail_expected(*in.find("lb"), "round-robin, shared, reuseport or least-connections");
    spec.lb = *parsed;
  }
  if (spec.autoscale && spec.autoscale->metric == ScaleMetric::pending && spec.exec_mode != ExecMode::cluster) {
    in.fail(*in.find("scale_metric"),
            "'scale_metric' pending counts connections waiting on the daemon's listening sockets: it needs cluster "
            "mode (exec_mode cluster)");
  }
}

// PM2's order (Common.mergeEnvironmentVariables): the shell, then deploy.<env>.env, then env,
// then env_<env>; `declared` gets all but the shell.
void read_environment(const Reader& in, const RawApp& app, const LoadContext& context, AppSpec& spec,
                      std::map<std::string, std::string>& declared) {
  EnvFilter filter;
  if (const RawOption* option = in.find("filter_env")) {
    if (option->value.is_boolean())
      filter.drop_all = option->value.get<bool>();
    else
      filter.prefixes = in.string_list("filter_env").value_or(std::vector<std::string>{});
  }
  spec.env = filtered_shell_env(context.shell_env, filter);
  if (in.find("uid") != nullptr) spec.env = other_user_shell_env(spec.env);
  spec.env_name = context.env_name;
  // Every env block is checked, not only the one in force: a mistake must not wait for the
  // day someone passes --env staging.
  for (const auto& [key, option] : app.options) {
    if (key != "env" && key.rfind("env_", 0) != 0) continue;
    if (!option.value.is_object() && !option.value.is_null()) in.fail_expected(option, "an object of variables");
  }
  // Which values were numbers: PM2 keeps them numbers in jlist (`PORT: 3000`).
  auto declare = [&declared, &spec](const nlohmann::json& vars) {
    merge_env(declared, vars);
    for (const auto& [key, value] : vars.items()) {
      if (value.is_number())
        spec.numeric_env.insert(key);
      else
        spec.numeric_env.erase(key);
    }
  };
  if (app.deploy_env.is_object()) declare(app.deploy_env);
  if (const RawOption* env = in.find("env")) declare(env->value);
  if (!context.env_name.empty()) {
    if (const RawOption* named = in.find("env_" + context.env_name)) declare(named->value);
  }
  for (const char* key : {"instance_var", "increment_var"}) {
    auto name = in.text(key);
    if (!name) continue;
    if (!is_env_name(*name)) in.fail_expected(*in.find(key), "a variable name");
    (std::string(key) == "instance_var" ? spec.instance_var : spec.increment_var) = *name;
  }
  if (auto port = in.whole_number("port", 1, 65535)) {
    spec.port = static_cast<int>(*port);
    declared["PORT"] = std::to_string(*port);
    spec.numeric_env.insert("PORT");
  }
  for (const auto& [key, value] : declared) spec.env[key] = value;
}

void read_listen(const Reader& in, AppSpec& spec) {
  if (const RawOption* option = in.find("listen")) {
    const nlohmann::json entries = option->value.is_array() ? option->value : nlohmann::json::array({option->value});
    for (const auto& entry : entries) {
      auto parsed = parse_listen_entry(entry, spec.cwd);
      if (!parsed) {
        in.fail(*option, "'" + option->written_key +
                             "' entries must be a port, \"host:port\", a unix socket path "
                             "or {address, port, name}, got " +
                             entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
      spec.listen.push_back(*parsed);
    }
  }
  const bool node = std::filesystem::path(spec.interpreter).filename().string().rfind("node", 0) == 0;
  if (spec.port && spec.exec_mode == ExecMode::cluster && !node) {
    const bool already = std::any_of(spec.listen.begin(), spec.listen.end(),
                                     [&spec](const ListenSpec& l) { return l.port == *spec.port; });
    if (!already) spec.listen.insert(spec.listen.begin(), ListenSpec{"", *spec.port, "http"});
  }
  // LISTEN_FDNAMES entries must differ for the app to tell its sockets apart.
  for (size_t i = 0; i < spec.listen.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (spec.listen[j].name == spec.listen[i].name) {
        spec.listen[i].name += "-" + std::to_string(i + 1);
        break;
      }
    }
  }
}

std::string log_path(const Reader& in, const char* key, const AppSpec& spec) {
  const RawOption* option = in.find(key);
  if (!option) return "";
  if (option->value == false || option->value == "NULL" || option->value == "/dev/null") return "/dev/null";
  auto path = in.text(key);
  if (path->empty()) in.fail(*option, std::string("'") + option->written_key + "' is empty");
  return in.absolute_path(*option, *path, spec.cwd);
}

void read_logs(const Reader& in, AppSpec& spec) {
  spec.out_file = log_path(in, "out_file", spec);
  spec.error_file = log_path(in, "error_file", spec);
  if (const RawOption* log = in.find("log_file"); log && log->value.is_boolean()) {
    spec.log_file_default = log->value.get<bool>();
  } else {
    spec.log_file = log_path(in, "log_file", spec);
  }
  spec.pid_file = log_path(in, "pid_file", spec);
  spec.merge_logs = in.flag("merge_logs").value_or(spec.exec_mode == ExecMode::fork);
  spec.disable_logs = in.flag("disable_logs").value_or(false);
  spec.time = in.flag("time").value_or(false);
  spec.log_date_format = in.text("log_date_format").value_or("");
  if (auto type = in.text("log_type")) {
    if (*type == "json")
      spec.log_type = LogType::json;
    else if (*type == "text" || *type == "raw")
      spec.log_type = LogType::text;
    else
      in.fail_expected(*in.find("log_type"), "\"json\" or \"text\"");
  }
  spec.log_max_size = in.size_bytes("log_max_size").value_or(0);
  spec.log_retain = static_cast<int>(in.whole_number("log_retain", 0, 100000).value_or(0));
  spec.log_compress = in.flag("log_compress").value_or(false);
  spec.log_rotate_daily = in.flag("log_rotate_daily").value_or(false);
}

std::string signal_name(const Reader& in, const RawOption& option) {
  static const std::array<const char*, 13> known = {"SIGINT",   "SIGTERM", "SIGQUIT", "SIGHUP",  "SIGKILL",
                                                    "SIGUSR1",  "SIGUSR2", "SIGABRT", "SIGALRM", "SIGPWR",
                                                    "SIGWINCH", "SIGCONT", "SIGSTOP"};
  if (!option.value.is_string()) in.fail_expected(option, "a signal name such as \"SIGTERM\"");
  std::string name = option.value.get<std::string>();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
  if (name.rfind("SIG", 0) != 0) name = "SIG" + name;
  if (std::find(known.begin(), known.end(), name) == known.end()) {
    in.fail_expected(option, "a signal name such as \"SIGTERM\"");
  }
  return name;
}

void read_lifecycle(const Reader& in, const LoadContext& context, AppSpec& spec) {
  spec.autorestart = in.flag("autorestart").value_or(true);
  spec.autostart = in.flag("autostart").value_or(true);
  spec.min_uptime_ms = in.duration_ms("min_uptime").value_or(spec.min_uptime_ms);
  spec.max_restarts = static_cast<int>(in.whole_number("max_restarts", 0, 1'000'000'000).value_or(spec.max_restarts));
  spec.restart_delay_ms = in.duration_ms("restart_delay").value_or(0);
  spec.exp_backoff_restart_delay_ms = in.duration_ms("exp_backoff_restart_delay").value_or(0);
  if (const RawOption* codes = in.find("stop_exit_codes")) {
    const nlohmann::json list = codes->value.is_array() ? codes->value : nlohmann::json::array({codes->value});
    for (const auto& code : list) {
      auto number = json_whole_number(code);
      if (!number || code.is_boolean() || *number < 0 || *number > 255) {
        in.fail_expected(*codes, "an exit code (0-255) or a list of them");
      }
      spec.stop_exit_codes.push_back(static_cast<int>(*number));
    }
  }
  spec.kill_timeout_ms = in.duration_ms("kill_timeout").value_or(spec.kill_timeout_ms);
  if (const RawOption* signal = in.find("kill_signal")) spec.kill_signal = signal_name(in, *signal);
  // PM2_KILL_USE_MESSAGE=true in the caller's environment means --shutdown-with-message, as in
  // PM2 (lib/God/Methods.js); the app's own setting wins.
  spec.shutdown_with_message =
      in.flag("shutdown_with_message").value_or(shell_var(context, "PM2_KILL_USE_MESSAGE") == "true");
  spec.treekill = in.flag("treekill").value_or(true);
  spec.wait_ready = in.flag("wait_ready").value_or(false);
  spec.listen_timeout_ms = in.duration_ms("listen_timeout").value_or(spec.listen_timeout_ms);
  spec.max_memory_restart = in.size_bytes("max_memory_restart");
  if (auto cron = in.text("cron_restart")) {
    if (auto why = cron_syntax_error(*cron)) {
      in.fail(*in.find("cron_restart"),
              "'" + in.find("cron_restart")->written_key + "' is not a valid cron expression: " + *why);
    }
    spec.cron_restart = *cron;
  }
  spec.uid = in.text_or_number("uid");
  spec.gid = in.text_or_number("gid");
  spec.force = in.flag("force").value_or(false);
  spec.ipc = in.flag("ipc").value_or(false);
  spec.node_metrics = in.flag("node_metrics").value_or(false);
  spec.allow_privileged_ports = in.flag("allow_privileged_ports").value_or(false);
  spec.max_listeners = static_cast<int>(in.whole_number("max_listeners", 1, 65536).value_or(spec.max_listeners));
}

void read_watch(const Reader& in, AppSpec& spec) {
  if (const RawOption* watch = in.find("watch")) {
    if (watch->value.is_boolean() || watch->value == "true" || watch->value == "false") {
      spec.watch = in.flag("watch").value_or(false);
      if (spec.watch) spec.watch_paths = {spec.cwd};
    } else {
      for (const auto& path : in.string_list("watch").value_or(std::vector<std::string>{})) {
        spec.watch_paths.push_back(in.absolute_path(*watch, path, spec.cwd));
      }
      spec.watch = !spec.watch_paths.empty();
    }
  }
  spec.ignore_watch = in.string_list("ignore_watch").value_or(std::vector<std::string>{});
  spec.watch_delay_ms = in.duration_ms("watch_delay").value_or(0);
}

// These act on the sockets the daemon holds for an app, which only cluster apps have; and
// allow_privileged_ports only changes anything for an app run as another user.
void warn_inert_network_options(const OptionReader& in, const AppSpec& spec, std::vector<Diagnostic>& warnings) {
  for (const char* key : {"allow_privileged_ports", "max_listeners"}) {
    const RawOption* option = in.find(key);
    if (option == nullptr) continue;
    if (spec.exec_mode != ExecMode::cluster) {
      warnings.emplace_back(option->where,
                            "'" + option->written_key +
                                "' has no effect in fork mode: the app binds its own sockets, with its own rights");
    } else if (std::string(key) == "allow_privileged_ports" && !spec.uid && !spec.gid) {
      warnings.emplace_back(
          option->where,
          "'" + option->written_key + "' has no effect without uid/gid: the app already has the daemon's rights");
    }
  }
}

}  // namespace

AppSpec normalize_app(const RawApp& app, const LoadContext& context, std::vector<Diagnostic>& warnings,
                      std::map<std::string, std::string>* declared_env) {
  OptionReader in(app, context.cwd);
  in.set_home(shell_var(context, "HOME"));
  AppSpec spec;
  spec.source_file = app.source_file;
  std::string default_name;
  read_cwd_and_script(in, app, context, spec, default_name, warnings);
  read_name(in, context, default_name, spec);
  read_instances(in, context, spec);
  std::map<std::string, std::string> declared;
  read_environment(in, app, context, spec, declared);
  if (declared_env) *declared_env = std::move(declared);
  read_listen(in, spec);
  read_logs(in, spec);
  read_lifecycle(in, context, spec);
  read_watch(in, spec);
  warn_inert_network_options(in, spec, warnings);
  return spec;
}

}  // namespace drove::config
