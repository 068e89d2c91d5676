// AppSpec: one app, normalised. Every way of describing an app (CLI flags, JSON, YAML or JS
// ecosystem files, a saved dump) ends as this one structure, and the daemon runs apps only from
// it. Aliases, units, defaults and `env_<name>` merging are all resolved before an AppSpec
// exists; paths are absolute.
//
// It is serialised as JSON (to_json/from_json) for the RPC and for dump.json, with the
// snake_case names PM2 users know.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/load_balance.hpp"

namespace drove {

enum class ExecMode { fork, cluster };

enum class LogType { text, json };

// What autoscaling measures (docs/cluster.md, "Autoscaling").
enum class ScaleMetric {
  cpu,      // CPU % of each instance's process tree, summed over the app: target is % per instance
  pending,  // connections waiting for the app: its listeners' accept queues plus connections the
            // daemon handed over and the worker has not yet taken (cluster apps only)
  loadavg,  // the host's 1-minute load average (seed 002's rule): target is load per instance
};

// Autoscaling of one app between min_instances and max_instances (supervisor/autoscale.hpp
// decides; docs/cluster.md documents each knob).
struct Autoscale {
  int min_instances = 1;
  int max_instances = 1;
  ScaleMetric metric = ScaleMetric::cpu;
  double target = 70;                  // per instance, in the metric's unit
  int up_step = 0;                     // instances added per decision at most; 0: what the signal asks
  int down_step = 1;                   // instances removed per decision at most
  std::int64_t up_cooldown_ms = 3000;  // between two scale-ups
  // Scale down only when every recommendation of this long asked for fewer instances, and this
  // long after the last change (the stabilisation window: hysteresis in time).
  std::int64_t down_delay_ms = 30000;
  bool paused = false;  // `drove scale <app> N` pinned the count; `drove scale <app> auto` resumes

  bool operator==(const Autoscale&) const = default;
};

double default_scale_target(ScaleMetric metric);
const char* to_string(ScaleMetric metric);  // "cpu" | "pending" | "loadavg"
std::optional<ScaleMetric> parse_scale_metric(const std::string& text);

struct AppSpec {
  // --- identity
  std::string name;  // list name (name_prefix/append_env_to_name applied)
  std::string namespace_name = "default";

  // --- what runs
  std::string script;             // as written by the user
  std::string exec_path;          // absolute path of the script (or the command itself)
  std::vector<std::string> args;  // arguments for the script
  std::string interpreter;        // "node", "python3", ..., "none" (run the script itself),
                                  // or "bash" for a script with spaces (run via bash -c)
  std::vector<std::string> interpreter_args;
  std::string cwd;                 // absolute
  std::optional<std::string> uid;  // user name or number (daemon must be root)
  std::optional<std::string> gid;

  // --- instances
  int instances = 1;                      // resolved: max/0/-n already turned into a count
  std::string instances_requested = "1";  // as the user wrote it ("max", "-1", "4"), for scale/describe
  ExecMode exec_mode = ExecMode::fork;
  LoadBalance lb = LoadBalance::round_robin;
  std::vector<ListenSpec> listen;      // sockets the daemon holds for a non-Node cluster app
  std::optional<Autoscale> autoscale;  // set by max_instances: `instances` then starts within it

  // --- environment
  std::map<std::string, std::string> env;  // the app's environment: captured shell env (after
                                           // filter_env) + `env` + `env_<name>`
  std::set<std::string> numeric_env;       // env keys written as numbers (PM2's jlist shows numbers)
  std::string env_name;                    // the --env <name> in force, "" if none
  std::string instance_var = "NODE_APP_INSTANCE";
  std::string increment_var;  // e.g. "PORT": incremented per instance
  std::optional<int> port;    // sets PORT

  // --- restart policy
  bool autorestart = true;
  bool autostart = true;
  std::int64_t min_uptime_ms = 1000;
  int max_restarts = 16;
  std::int64_t restart_delay_ms = 0;
  std::int64_t exp_backoff_restart_delay_ms = 0;
  std::vector<int> stop_exit_codes;

  // --- stopping and readiness
  std::int64_t kill_timeout_ms = 1600;
  std::string kill_signal = "SIGINT";
  bool shutdown_with_message = false;
  bool treekill = true;
  bool wait_ready = false;
  std::int64_t listen_timeout_ms = 3000;

  // --- logs
  std::string out_file;  // absolute, "/dev/null", or "" = default under home
  std::string error_file;
  std::string log_file;           // combined log, "" = none
  bool log_file_default = false;  // `log_file: true`: combined log at <home>/logs/<name>.log
  bool merge_logs = false;
  bool disable_logs = false;
  bool time = false;            // prefix timestamps
  std::string log_date_format;  // dayjs-style tokens
  LogType log_type = LogType::text;
  std::int64_t log_max_size = 0;  // bytes; 0 = no size rotation
  int log_retain = 0;             // rotated files kept; 0 = keep all
  bool log_compress = false;
  bool log_rotate_daily = false;
  std::string pid_file;

  // --- later features (parsed and validated now, shown in describe)
  std::optional<std::int64_t> max_memory_restart;  // bytes
  std::string cron_restart;
  bool watch = false;
  std::vector<std::string> watch_paths;
  std::vector<std::string> ignore_watch;
  std::int64_t watch_delay_ms = 0;
  bool force = false;
  bool ipc = false;           // drove extension: give a non-Node app Node's IPC channel
                              // (the C++ SDK speaks it: messages, cluster protocol)
  bool node_metrics = false;  // drove extension: `--require` drove's Node metrics preload (heap, loop lag)

  // --- the network on the app's behalf (docs/security.md)
  bool allow_privileged_ports = false;  // an app run with `uid` may get ports < 1024 from the daemon
  int max_listeners = 64;               // listening sockets the daemon holds for one app

  // --- provenance
  std::string source_file;  // ecosystem file it came from, "" for the CLI
};

void to_json(nlohmann::json& j, const AppSpec& spec);
void from_json(const nlohmann::json& j, AppSpec& spec);
void to_json(nlohmann::json& j, const ListenSpec& spec);
void from_json(const nlohmann::json& j, ListenSpec& spec);
void to_json(nlohmann::json& j, const Autoscale& spec);
void from_json(const nlohmann::json& j, Autoscale& spec);

const char* to_string(ExecMode mode);  // "fork" | "cluster"

}  // namespace drove
