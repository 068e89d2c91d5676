#include "supervisor/instance_env.hpp"

#include <cstdlib>
#include <map>

#include "supervisor/app.hpp"

namespace drove::supervisor {

bool runs_on_node(const AppSpec& spec) {
  const std::string& i = spec.interpreter;
  if (i == "node" || i == "nodejs") return true;
  const auto slash = i.rfind('/');
  const std::string base = slash == std::string::npos ? i : i.substr(slash + 1);
  return base == "node" || base == "nodejs";
}

bool speaks_node_ipc(const AppSpec& spec) { return runs_on_node(spec) || spec.ipc; }

std::vector<ListenSpec> activation_specs(const AppSpec& spec) {
  std::vector<ListenSpec> out = spec.listen;
  if (out.empty() && spec.port) out.push_back({"", *spec.port, ""});
  for (auto& l : out) {
    if (!l.name.empty()) continue;
    const bool path = !l.address.empty() && l.address.front() == '/';
    l.name = path ? l.address.substr(l.address.rfind('/') + 1) : "http";
  }
  return out;
}

std::vector<std::string> instance_argv(const AppSpec& spec, std::string& file) {
  std::vector<std::string> argv;
  if (spec.interpreter.empty() || spec.interpreter == "none") {
    file = spec.exec_path;
    argv.push_back(spec.exec_path);
  } else {
    file = spec.interpreter;
    argv.push_back(spec.interpreter);
    argv.insert(argv.end(), spec.interpreter_args.begin(), spec.interpreter_args.end());
    argv.push_back(spec.exec_path);
  }
  argv.insert(argv.end(), spec.args.begin(), spec.args.end());
  return argv;
}

std::vector<std::string> instance_env(const Instance& instance, const Run& run, const std::string& notify_socket,
                                      const AppIdentity& identity) {
  const AppSpec& spec = instance.app->spec;
  std::map<std::string, std::string> env = spec.env;
  if (!identity.user_name.empty()) {
    // The config's own values win (systemd: Environment= over User=); the caller's were dropped.
    env.try_emplace("HOME", identity.home);
    env.try_emplace("USER", identity.user_name);
    env.try_emplace("LOGNAME", identity.user_name);
    env.try_emplace("SHELL", identity.shell);
  }
  for (const char* key : {"NODE_CHANNEL_FD", "NODE_UNIQUE_ID", "NODE_CHANNEL_SERIALIZATION_MODE", "LISTEN_FDS",
                          "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET"}) {
    env.erase(key);
  }
  const std::string instance_var = spec.instance_var.empty() ? "NODE_APP_INSTANCE" : spec.instance_var;
  env[instance_var] = std::to_string(instance.index);
  env["pm_id"] = std::to_string(instance.id);
  env["name"] = spec.name;
  env["namespace"] = spec.namespace_name;
  env["exec_mode"] = spec.exec_mode == ExecMode::cluster ? "cluster_mode" : "fork_mode";
  env["exec_interpreter"] = spec.interpreter.empty() ? "none" : spec.interpreter;
  env["pm_exec_path"] = spec.exec_path;
  env["pm_cwd"] = spec.cwd;
  env["pm_out_log_path"] = instance.output_spec.out_path;
  env["pm_err_log_path"] = instance.output_spec.err_path;
  env["pm_pid_path"] = instance.pid_file_path;
  env["restart_time"] = std::to_string(instance.restart_time);
  env["unstable_restarts"] = std::to_string(instance.history.unstable_restarts);
  env["created_at"] = std::to_string(instance.created_at_ms);
  env["pm_uptime"] = std::to_string(run.started_at_ms);
  env["instances"] = std::to_string(spec.instances);
  env["unique_id"] = spec.name + "-" + std::to_string(instance.id);
  if (spec.wait_ready && !speaks_node_ipc(spec) && !notify_socket.empty()) env["NOTIFY_SOCKET"] = notify_socket;
  if (spec.port) env["PORT"] = std::to_string(*spec.port);
  if (!spec.increment_var.empty()) {
    // PM2: the variable's base value (from env, or 0) plus the instance index.
    long base = 0;
    if (auto it = env.find(spec.increment_var); it != env.end()) base = std::strtol(it->second.c_str(), nullptr, 10);
    else if (spec.increment_var == "PORT" && spec.port) base = *spec.port;
    env[spec.increment_var] = std::to_string(base + instance.index);
  }
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [key, value] : env) out.push_back(key + "=" + value);
  return out;
}

}  // namespace drove::supervisor
