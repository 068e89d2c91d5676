#include "config/app_spec.hpp"

#include "base/json_limits.hpp"

namespace drove {

NLOHMANN_JSON_SERIALIZE_ENUM(ExecMode, {{ExecMode::fork, "fork"}, {ExecMode::cluster, "cluster"}})
NLOHMANN_JSON_SERIALIZE_ENUM(LoadBalance, {{LoadBalance::round_robin, "round-robin"},
                                           {LoadBalance::shared, "shared"},
                                           {LoadBalance::reuseport, "reuseport"},
                                           {LoadBalance::least_connections, "least-connections"}})
NLOHMANN_JSON_SERIALIZE_ENUM(LogType, {{LogType::text, "text"}, {LogType::json, "json"}})

double default_scale_target(ScaleMetric metric) {
  switch (metric) {
    case ScaleMetric::cpu:
      return 70;
    case ScaleMetric::pending:
      return 8;
    case ScaleMetric::loadavg:
      return 1;
  }
  return 70;
}

const char* to_string(ScaleMetric metric) {
  switch (metric) {
    case ScaleMetric::cpu:
      return "cpu";
    case ScaleMetric::pending:
      return "pending";
    case ScaleMetric::loadavg:
      return "loadavg";
  }
  return "cpu";
}

std::optional<ScaleMetric> parse_scale_metric(const std::string& text) {
  for (ScaleMetric m : {ScaleMetric::cpu, ScaleMetric::pending, ScaleMetric::loadavg}) {
    if (text == to_string(m)) return m;
  }
  return std::nullopt;
}

// A spec also arrives from the control socket: every number is checked (json_integer), a
// metric that is not one of ours is an error, and a target must be a finite positive number.
void to_json(nlohmann::json& j, const Autoscale& s) {
  j = {{"min_instances", s.min_instances},
       {"max_instances", s.max_instances},
       {"metric", to_string(s.metric)},
       {"target", s.target},
       {"up_step", s.up_step},
       {"down_step", s.down_step},
       {"up_cooldown_ms", s.up_cooldown_ms},
       {"down_delay_ms", s.down_delay_ms},
       {"paused", s.paused}};
}
void from_json(const nlohmann::json& j, Autoscale& s) {
  if (!j.is_object()) throw std::invalid_argument("autoscale: expected an object");
  auto integer = [&j](const char* key, auto& out) {
    if (j.contains(key)) out = json_integer<std::remove_reference_t<decltype(out)>>(j[key], key);
  };
  integer("min_instances", s.min_instances);
  integer("max_instances", s.max_instances);
  integer("up_step", s.up_step);
  integer("down_step", s.down_step);
  integer("up_cooldown_ms", s.up_cooldown_ms);
  integer("down_delay_ms", s.down_delay_ms);
  if (j.contains("metric")) {
    auto metric = parse_scale_metric(j["metric"].is_string() ? j["metric"].get<std::string>() : "");
    if (!metric) throw std::invalid_argument("autoscale.metric: expected cpu, pending or loadavg");
    s.metric = *metric;
  }
  if (j.contains("target")) {
    if (!j["target"].is_number()) throw std::invalid_argument("autoscale.target: expected a number");
    s.target = j["target"].get<double>();
  }
  if (j.contains("paused")) {
    if (!j["paused"].is_boolean()) throw std::invalid_argument("autoscale.paused: expected true or false");
    s.paused = j["paused"].get<bool>();
  }
}

void to_json(nlohmann::json& j, const ListenSpec& s) {
  j = {{"address", s.address}, {"port", s.port}, {"name", s.name}};
}
void from_json(const nlohmann::json& j, ListenSpec& s) {
  s.address = j.value("address", "");
  s.port = j.contains("port") ? json_integer<int>(j["port"], "port") : 0;
  s.name = j.value("name", "");
}

// clang-format off
#define DROVE_APP_SPEC_FIELDS(X)                                                                                    \
  X(name) X(namespace_name) X(script) X(exec_path) X(args) X(interpreter) X(interpreter_args) X(cwd) X(uid)        \
  X(gid) X(instances) X(instances_requested) X(exec_mode) X(lb) X(listen) X(autoscale) X(env) X(numeric_env) X(env_name)        \
  X(instance_var) X(increment_var) X(port) X(autorestart) X(autostart) X(min_uptime_ms) X(max_restarts)            \
  X(restart_delay_ms) X(exp_backoff_restart_delay_ms) X(stop_exit_codes) X(kill_timeout_ms) X(kill_signal)         \
  X(shutdown_with_message) X(treekill) X(wait_ready) X(listen_timeout_ms) X(out_file) X(error_file) X(log_file)    \
  X(log_file_default) X(merge_logs) X(disable_logs) X(time) X(log_date_format) X(log_type) X(log_max_size)         \
  X(log_retain) X(log_compress) X(log_rotate_daily) X(pid_file) X(max_memory_restart) X(cron_restart) X(watch)     \
  X(watch_paths) X(ignore_watch) X(watch_delay_ms) X(force) X(ipc) X(node_metrics) X(source_file) X(allow_privileged_ports)        \
  X(max_listeners)
// clang-format on

namespace {
template <class T>
void put(nlohmann::json& j, const char* key, const T& value) {
  j[key] = value;
}
template <class T>
void put(nlohmann::json& j, const char* key, const std::optional<T>& value) {
  if (value)
    j[key] = *value;
  else
    j[key] = nullptr;
}
// Integers are range-checked (json_integer): a spec arrives from the control socket, and
// nlohmann's own get<int>() of 1e40 is undefined behaviour.
template <class T>
T get_value(const nlohmann::json& v, const char* key) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    return json_integer<T>(v, key);
  else
    return v.get<T>();
}
template <class T>
void get(const nlohmann::json& j, const char* key, T& out) {
  if (auto it = j.find(key); it != j.end() && !it->is_null()) out = get_value<T>(*it, key);
}
template <class T>
void get(const nlohmann::json& j, const char* key, std::optional<T>& out) {
  if (auto it = j.find(key); it != j.end() && !it->is_null())
    out = get_value<T>(*it, key);
  else
    out.reset();
}
}  // namespace

void to_json(nlohmann::json& j, const AppSpec& s) {
  j = nlohmann::json::object();
#define X(field) put(j, #field, s.field);
  DROVE_APP_SPEC_FIELDS(X)
#undef X
}

void from_json(const nlohmann::json& j, AppSpec& s) {
#define X(field) get(j, #field, s.field);
  DROVE_APP_SPEC_FIELDS(X)
#undef X
}

const char* to_string(ExecMode mode) { return mode == ExecMode::cluster ? "cluster" : "fork"; }

}  // namespace drove
