#include "cli/start_options.hpp"

namespace drove::cli {
namespace {

struct ValueFlag {
  const char* names;
  const char* key;
  const char* help;
};

// Flags with a value, as PM2 spells them, and the option key each sets.
constexpr ValueFlag kValueFlags[] = {
    {"-n,--name", "name", "app name"},
    {"--namespace", "namespace", "namespace (a target for stop/restart/...)"},
    {"-i,--instances", "instances", "instances: a number, max, 0 (all CPUs) or -n (CPUs minus n)"},
    {"--interpreter", "interpreter", "interpreter: node, python3, bash, none, or a path"},
    {"--interpreter-args,--node-args", "interpreter_args", "arguments for the interpreter"},
    {"--cwd", "cwd", "working directory"},
    {"-o,--output", "out_file", "stdout log file"},
    {"-e,--error", "error_file", "stderr log file"},
    {"-l,--log", "log_file", "combined log file"},
    {"--log-type", "log_type", "json: one JSON object per log line"},
    {"--log-date-format", "log_date_format", "timestamp format for log lines (YYYY-MM-DD HH:mm:ss)"},
    {"--max-memory-restart", "max_memory_restart", "restart above this memory (e.g. 300M)"},
    {"--restart-delay", "restart_delay", "delay before a restart (ms, or 2s)"},
    {"--exp-backoff-restart-delay", "exp_backoff_restart_delay", "base delay of exponential back-off"},
    {"--max-restarts", "max_restarts", "unstable restarts before errored (16)"},
    {"--min-uptime", "min_uptime", "how long a run must last to be stable (1000 ms)"},
    {"-k,--kill-timeout", "kill_timeout", "delay between the stop signal and SIGKILL (1600 ms)"},
    {"--kill-signal", "kill_signal", "stop signal (SIGINT)"},
    {"--listen-timeout", "listen_timeout", "how long to wait for ready/listening (3000 ms)"},
    {"-c,--cron-restart", "cron_restart", "cron expression for periodic restarts"},
    {"--watch-delay", "watch_delay", "debounce for watch restarts"},
    {"--uid", "uid", "run as this user (daemon must be root)"},
    {"--gid", "gid", "run as this group (daemon must be root)"},
    {"--exec-mode", "exec_mode", "fork or cluster"},
    {"--min-instances", "min_instances", "autoscale: fewest instances (1)"},
    {"--max-instances", "max_instances", "autoscale: most instances (turns autoscaling on)"},
    {"--scale-metric", "scale_metric", "autoscale on cpu (default), pending (connections waiting) or loadavg"},
    {"--scale-target", "scale_target", "autoscale target per instance (cpu 70 %, pending 8, loadavg 1)"},
    {"--scale-up-step", "scale_up_step", "autoscale: instances added per decision at most (0: as needed)"},
    {"--scale-down-step", "scale_down_step", "autoscale: instances removed per decision at most (1)"},
    {"--scale-up-cooldown", "scale_up_cooldown", "autoscale: time between two scale-ups (3s)"},
    {"--scale-down-delay", "scale_down_delay", "autoscale: low load this long before a scale-down (30s)"},
    {"-p,--pid", "pid_file", "pid file path"},
    {"--lb", "lb", "cluster load balancing: round-robin, shared, reuseport, least-connections"},
    {"--port", "port", "sets PORT; a non-Node cluster app gets this port by socket activation"},
    {"--log-max-size", "log_max_size", "rotate logs above this size (e.g. 10M)"},
    {"--log-retain", "log_retain", "rotated log files to keep"},
    {"--max-listeners", "max_listeners", "listening sockets the daemon holds for this app (64)"},
};

struct SwitchFlag {
  const char* names;
  const char* key;
  bool value;
  const char* help;
};

constexpr SwitchFlag kSwitches[] = {
    {"--merge-logs", "merge_logs", true, "one log file for all instances"},
    {"--time", "time", true, "prefix log lines with a timestamp"},
    {"--disable-logs", "disable_logs", true, "discard the app's output"},
    {"--no-autorestart", "autorestart", false, "do not restart the app when it exits"},
    {"--no-autostart", "autostart", false, "register the app without starting it"},
    {"--no-treekill", "treekill", false, "signal only the main process, not its children"},
    {"--wait-ready", "wait_ready", true, "online only once the app says ready"},
    {"--shutdown-with-message", "shutdown_with_message", true, "stop by the IPC message 'shutdown'"},
    {"-f,--force", "force", true, "start even if the script already runs"},
    {"--log-compress", "log_compress", true, "gzip rotated logs"},
    {"--log-rotate-daily", "log_rotate_daily", true, "rotate logs at midnight"},
    {"--ipc", "ipc", true, "give a non-Node app Node's IPC channel (C++ SDK apps)"},
    {"--node-metrics", "node_metrics", true, "report heap and event-loop latency of a Node app (a preload)"},
    {"--allow-privileged-ports", "allow_privileged_ports", true, "let an app run with --uid listen on ports < 1024"},
    // PM2-only features: accepted so PM2 command lines keep working; the option key they set
    // is one drove knows to ignore, so the loader warns naming it (docs/pm2-compatibility.md).
    {"--no-vizion", "vizion", false, "PM2 only (versioning metadata): accepted and ignored"},
    {"--no-automation", "automation", false, "PM2 only (keymetrics): accepted and ignored"},
    {"--no-pmx", "pmx", false, "PM2 only (pmx injection): accepted and ignored"},
    {"--source-map-support", "source_map_support", true, "PM2 only: accepted and ignored"},
    {"--disable-source-map-support", "disable_source_map_support", true, "PM2 only: accepted and ignored"},
    {"--trace", "trace", true, "PM2 only (keymetrics tracing): accepted and ignored"},
    {"--disable-trace", "disable_trace", true, "PM2 only: accepted and ignored"},
    {"--deep-monitoring", "deep_monitoring", true, "PM2 only (keymetrics): accepted and ignored"},
};

}  // namespace

void StartOptions::add_to(CLI::App& command) {
  add_app_flags_to(command, true);
  command.add_option("--env", env_name, "environment of the ecosystem file to use (env_<name>)");
  command.add_option("--only", only, "only these apps of the ecosystem file (a,b)");
  command.add_flag("-a,--update-env", update_env, "use the current shell environment");
}

void StartOptions::add_app_flags_to(CLI::App& command, bool with_watch) {
  for (const auto& f : kValueFlags) {
    given[f.key] = command.add_option(f.names, values[f.key], f.help);
  }
  for (const auto& f : kSwitches) {
    given[f.key] = command.add_flag(f.names, f.help);
    switches[f.key] = f.value;
  }
  given["stop_exit_codes"] =
      command.add_option("--stop-exit-codes", stop_exit_codes, "exit codes that do not restart")->expected(1, -1);
  given["filter_env"] =
      command.add_option("--filter-env", filter_env, "do not inherit these shell variables (prefixes)")
          ->expected(0, -1);
  if (with_watch) given["watch"] = command.add_option("--watch", watch, "restart on changes (paths)")->expected(0, -1);
  given["ignore_watch"] = command.add_option("--ignore-watch", ignore_watch, "paths not watched")->expected(1, -1);
  // PM2's -x is a switch (--execute-command: run in fork mode), not --exec-mode's short name.
  const std::string execute_help = "fork mode (PM2's --execute-command)";
  execute_command = command.add_flag("-x,--execute-command", execute_help);
}

nlohmann::json StartOptions::to_json(const std::vector<std::string>& app_args) const {
  nlohmann::json o = nlohmann::json::object();
  for (const auto& [key, value] : values) {
    if (given.at(key)->count() > 0) o[key] = value;
  }
  for (const auto& [key, value] : switches) {
    if (given.at(key)->count() > 0) o[key] = value;
  }
  if (given.at("stop_exit_codes")->count() > 0) {
    nlohmann::json codes = nlohmann::json::array();
    for (const auto& c : stop_exit_codes) {
      // Accept "0,3" as well as "0 3".
      size_t start = 0;
      while (start <= c.size()) {
        size_t end = c.find(',', start);
        if (end == std::string::npos) end = c.size();
        if (end > start) codes.push_back(c.substr(start, end - start));
        start = end + 1;
      }
    }
    o["stop_exit_codes"] = codes;
  }
  if (given.at("filter_env")->count() > 0)
    o["filter_env"] = filter_env.empty() ? nlohmann::json(true) : nlohmann::json(filter_env);
  if (given.count("watch") && given.at("watch")->count() > 0)
    o["watch"] = watch.empty() ? nlohmann::json(true) : nlohmann::json(watch);
  if (given.at("ignore_watch")->count() > 0) o["ignore_watch"] = ignore_watch;
  if (!app_args.empty()) o["args"] = app_args;
  if (execute_command && execute_command->count() > 0) o["exec_mode"] = "fork";
  return o;
}

// PM2's CLI: `-i N` on a Node script means cluster mode for every N, 1 included, unless -x or
// --exec-mode says otherwise (API._startScript).
bool StartOptions::instances_mean_cluster() const {
  return given.at("instances")->count() > 0 && given.at("exec_mode")->count() == 0 &&
         !(execute_command && execute_command->count() > 0);
}

std::vector<std::string> StartOptions::only_list() const {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < only.size()) {
    size_t end = only.find(',', start);
    if (end == std::string::npos) end = only.size();
    if (end > start) out.push_back(only.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace drove::cli
