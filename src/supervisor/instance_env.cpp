#include "supervisor/instance_env.hpp"

#include <cstdlib>
#include <map>
#include <optional>

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

std::vector<std::string> instance_argv(const AppSpec& spec, std::string& file, const std::string& node_preload) {
  std::vector<std::string> argv;
  if (spec.interpreter.empty() || spec.interpreter == "none") {
    file = spec.exec_path;
    argv.push_back(spec.exec_path);
  } else {
    file = spec.interpreter;
    argv.push_back(spec.interpreter);
    // Before the app's own node_args: a --require of theirs runs after drove's, as the app expects.
    if (spec.node_metrics && runs_on_node(spec) && !node_preload.empty()) {
      argv.push_back("--require");
      argv.push_back(node_preload);
    }
    argv.insert(argv.end(), spec.interpreter_args.begin(), spec.interpreter_args.end());
    argv.push_back(spec.exec_path);
  }
  argv.insert(argv.end(), spec.args.begin(), spec.args.end());
  return argv;
}

std::vector<std::string> instance_env(const Instance& instance, const Run& run, const std::string& notify_socket,
                                      const AppIdentity& identity) {
  const AppSpec& spec = instance.app->spec;
  // What drove sets or removes over the app's own env; the app's env itself is copied once,
  // straight into the "KEY=value" strings execve takes (an env of 15 MB was copied twice).
  std::map<std::string, std::optional<std::string>> over;
  const auto own = [&spec](const std::string& key) -> const std::string* {
    auto it = spec.env.find(key);
    return it == spec.env.end() ? nullptr : &it->second;
  };
  if (!identity.user_name.empty()) {
    // The config's own values win (systemd: Environment= over User=); the caller's were dropped.
    if (!own("HOME")) over["HOME"] = identity.home;
    if (!own("USER")) over["USER"] = identity.user_name;
    if (!own("LOGNAME")) over["LOGNAME"] = identity.user_name;
    if (!own("SHELL")) over["SHELL"] = identity.shell;
  }
  for (const char* key : {"NODE_CHANNEL_FD", "NODE_UNIQUE_ID", "NODE_CHANNEL_SERIALIZATION_MODE", "LISTEN_FDS",
                          "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET"}) {
    over[key] = std::nullopt;
  }
  const std::string instance_var = spec.instance_var.empty() ? "NODE_APP_INSTANCE" : spec.instance_var;
  over[instance_var] = std::to_string(instance.index);
  over["pm_id"] = std::to_string(instance.id);
  over["name"] = spec.name;
  over["namespace"] = spec.namespace_name;
  over["exec_mode"] = spec.exec_mode == ExecMode::cluster ? "cluster_mode" : "fork_mode";
  over["exec_interpreter"] = spec.interpreter.empty() ? "none" : spec.interpreter;
  over["pm_exec_path"] = spec.exec_path;
  over["pm_cwd"] = spec.cwd;
  over["pm_out_log_path"] = instance.output_spec.out_path;
  over["pm_err_log_path"] = instance.output_spec.err_path;
  over["pm_pid_path"] = instance.pid_file_path;
  over["restart_time"] = std::to_string(instance.restart_time);
  over["unstable_restarts"] = std::to_string(instance.history.unstable_restarts);
  over["created_at"] = std::to_string(instance.created_at_ms);
  over["pm_uptime"] = std::to_string(run.started_at_ms);
  over["instances"] = std::to_string(spec.instances);
  over["unique_id"] = spec.name + "-" + std::to_string(instance.id);
  if (spec.wait_ready && !speaks_node_ipc(spec) && !notify_socket.empty()) over["NOTIFY_SOCKET"] = notify_socket;
  if (spec.port) over["PORT"] = std::to_string(*spec.port);
  if (!spec.increment_var.empty()) {
    // PM2: the variable's base value (from env, or 0) plus the instance index.
    long base = 0;
    auto set = over.find(spec.increment_var);
    if (set != over.end() && set->second)
      base = std::strtol(set->second->c_str(), nullptr, 10);
    else if (const std::string* value = own(spec.increment_var); value && set == over.end())
      base = std::strtol(value->c_str(), nullptr, 10);
    else if (spec.increment_var == "PORT" && spec.port)
      base = *spec.port;
    over[spec.increment_var] = std::to_string(base + instance.index);
  }
  std::vector<std::string> out;
  out.reserve(spec.env.size() + over.size());
  const auto add = [&out](const std::string& key, const std::string& value) {
    std::string entry;
    entry.reserve(key.size() + 1 + value.size());
    entry.append(key).append(1, '=').append(value);
    out.push_back(std::move(entry));
  };
  // In key order, as before: the app's variables, with drove's laid over them.
  auto o = over.begin();
  for (const auto& [key, value] : spec.env) {
    for (; o != over.end() && o->first < key; ++o) {
      if (o->second) add(o->first, *o->second);
    }
    if (o != over.end() && o->first == key) {
      if (o->second) add(o->first, *o->second);
      ++o;
      continue;
    }
    add(key, value);
  }
  for (; o != over.end(); ++o) {
    if (o->second) add(o->first, *o->second);
  }
  return out;
}

}  // namespace drove::supervisor
