#include "supervisor/spec_validator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "process/exit_status.hpp"
#include "supervisor/instance_env.hpp"
#include "supervisor/output_files.hpp"

namespace drove::supervisor {
namespace {

bool has_control_char(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

bool has_nul(const std::string& text) { return text.find('\0') != std::string::npos; }

std::optional<std::string> check_duration(const std::string& app, const char* field, std::int64_t ms) {
  if (ms < 0 || ms > kMaxDurationMs) {
    return fmt::format("app '{}': '{}' must be between 0 and {} ms (a year), got {}", app, field, kMaxDurationMs, ms);
  }
  return std::nullopt;
}

std::optional<std::string> check_user(const std::string& app, const char* field,
                                      const std::optional<std::string>& user) {
  if (!user) return std::nullopt;
  if (user->empty()) return fmt::format("app '{}': '{}' is empty (omit it to run as the daemon's user)", app, field);
  if (user->size() > 256 || has_control_char(*user))
    return fmt::format("app '{}': '{}' is not a user or group name or number", app, field);
  return std::nullopt;
}

}  // namespace

bool is_reserved_name(const std::string& name) { return name == "all"; }

namespace {

// Autoscaling's bounds hold the instance count, and every knob is one the policy can use.
std::optional<std::string> check_autoscale(const std::string& name, const AppSpec& spec) {
  if (!spec.autoscale) return std::nullopt;
  const Autoscale& a = *spec.autoscale;
  if (a.min_instances < 1 || a.max_instances < a.min_instances || a.max_instances > kMaxInstancesPerApp) {
    return fmt::format("app '{}': autoscaling needs 1 <= min_instances <= max_instances <= {}, got {}..{}", name,
                       kMaxInstancesPerApp, a.min_instances, a.max_instances);
  }
  if (!std::isfinite(a.target) || a.target <= 0 || a.target > 1e6) {
    return fmt::format("app '{}': 'scale_target' must be a number above 0 and at most 1e6", name);
  }
  if (a.up_step < 0 || a.up_step > kMaxInstancesPerApp || a.down_step < 1 || a.down_step > kMaxInstancesPerApp) {
    return fmt::format("app '{}': 'scale_up_step' must be 0 to {} and 'scale_down_step' 1 to {}", name,
                       kMaxInstancesPerApp, kMaxInstancesPerApp);
  }
  if (a.metric == ScaleMetric::pending && spec.exec_mode != ExecMode::cluster) {
    return fmt::format("app '{}': 'scale_metric' pending needs cluster mode", name);
  }
  if (auto e = check_duration(name, "scale_up_cooldown", a.up_cooldown_ms)) return e;
  return check_duration(name, "scale_down_delay", a.down_delay_ms);
}

}  // namespace

std::optional<std::string> validate_spec(const AppSpec& spec) {
  const std::string& name = spec.name;
  if (name.empty()) return std::string("app name is empty");
  if (name.size() > kMaxNameBytes) {
    return fmt::format("app name '{}...' is {} bytes long; the limit is {}", name.substr(0, 32), name.size(),
                       kMaxNameBytes);
  }
  if (has_control_char(name)) return fmt::format("app name {:?} contains a control character", name);
  if (is_reserved_name(name)) return fmt::format("app name '{}' is reserved (it targets every process)", name);
  if (name == "." || name == "..") return fmt::format("app name '{}' is not a usable file name", name);
  if (spec.namespace_name.empty() || spec.namespace_name.size() > kMaxNameBytes ||
      has_control_char(spec.namespace_name)) {
    return fmt::format("app '{}': 'namespace' must be 1 to {} printable bytes", name, kMaxNameBytes);
  }
  if (spec.exec_path.empty() && spec.script.empty()) return fmt::format("app '{}': 'script' is empty", name);
  if (has_nul(spec.exec_path) || has_nul(spec.script) || has_nul(spec.cwd) || has_nul(spec.interpreter)) {
    return fmt::format("app '{}': a path contains a NUL byte", name);
  }
  for (const auto& arg : spec.args) {
    if (has_nul(arg)) return fmt::format("app '{}': an argument contains a NUL byte", name);
  }
  if (spec.instances < 1 || spec.instances > kMaxInstancesPerApp) {
    return fmt::format("app '{}': 'instances' must be between 1 and {}, got {}", name, kMaxInstancesPerApp,
                       spec.instances);
  }
  if (spec.node_metrics && !runs_on_node(spec)) {
    return fmt::format(
        "app '{}': 'node_metrics' is for Node apps (its interpreter is '{}'); report figures with "
        "@pm2/io's messages instead (docs/monitoring.md)",
        name, spec.interpreter.empty() ? "none" : spec.interpreter);
  }
  if (auto e = check_autoscale(name, spec)) return e;
  if (auto e = check_user(name, "uid", spec.uid)) return e;
  if (auto e = check_user(name, "gid", spec.gid)) return e;
  for (const auto& [field, ms] :
       {std::pair{"min_uptime", spec.min_uptime_ms}, std::pair{"restart_delay", spec.restart_delay_ms},
        std::pair{"exp_backoff_restart_delay", spec.exp_backoff_restart_delay_ms},
        std::pair{"kill_timeout", spec.kill_timeout_ms}, std::pair{"listen_timeout", spec.listen_timeout_ms},
        std::pair{"watch_delay", spec.watch_delay_ms}}) {
    if (auto e = check_duration(name, field, ms)) return e;
  }
  if (spec.max_restarts < 0)
    return fmt::format("app '{}': 'max_restarts' must not be negative, got {}", name, spec.max_restarts);
  if (spec.port && (*spec.port < 0 || *spec.port > 65535)) {
    return fmt::format("app '{}': 'port' must be between 0 and 65535, got {}", name, *spec.port);
  }
  for (const auto& l : spec.listen) {
    if (l.port < 0 || l.port > 65535)
      return fmt::format("app '{}': a 'listen' port must be between 0 and 65535, got {}", name, l.port);
  }
  if (!spec.kill_signal.empty() && process::signal_from_name(spec.kill_signal) == 0) {
    return fmt::format("app '{}': 'kill_signal' {:?} is not a signal", name, spec.kill_signal);
  }
  for (int code : spec.stop_exit_codes) {
    if (code < 0 || code > 255)
      return fmt::format("app '{}': 'stop_exit_codes' entries must be 0-255, got {}", name, code);
  }
  if (spec.log_max_size < 0 || spec.log_retain < 0)
    return fmt::format("app '{}': log rotation sizes must not be negative", name);
  return check_env(name, spec.env);
}

std::optional<std::string> check_env(const std::string& app, const std::map<std::string, std::string>& env) {
  for (const auto& [key, value] : env) {
    if (key.empty() || key.find('=') != std::string::npos || has_nul(key) || has_nul(value)) {
      return fmt::format("app '{}': environment variable {:?} is not a valid name=value", app, key);
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_instance_caps(const std::string& name, int current, int target, int total) {
  if (target > kMaxInstancesPerApp) {
    return fmt::format("cannot run {} instances of '{}': the limit is {} per app", target, name, kMaxInstancesPerApp);
  }
  const long long after = static_cast<long long>(total) - current + target;
  if (after > kMaxInstancesTotal) {
    return fmt::format("cannot run {} instances of '{}': the daemon would manage {} processes; the limit is {}", target,
                       name, after, kMaxInstancesTotal);
  }
  return std::nullopt;
}

std::optional<std::string> check_disk_name(const std::string& name, const std::map<std::string, std::string>& taken) {
  const std::string on_disk = file_safe_name(name);
  if (auto it = taken.find(on_disk); it != taken.end() && it->second != name) {
    return fmt::format("app name '{}' would share log files with app '{}' (both are '{}' on disk)", name, it->second,
                       on_disk);
  }
  return std::nullopt;
}

}  // namespace drove::supervisor
