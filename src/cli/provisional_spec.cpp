#include "cli/provisional_spec.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "cli/client.hpp"

extern char** environ;

namespace drove::cli {

AppSpec provisional_app_from_script(const std::string& script, const nlohmann::json& o) {
  namespace fs = std::filesystem;
  AppSpec spec;
  const std::string cwd = o.contains("cwd") ? fs::absolute(o["cwd"].get<std::string>()).string() : fs::current_path().string();
  spec.cwd = cwd;
  spec.script = script;
  const fs::path path = fs::path(script).is_absolute() ? fs::path(script) : fs::path(cwd) / script;
  spec.exec_path = path.lexically_normal().string();
  struct stat st {};
  if (::stat(spec.exec_path.c_str(), &st) != 0) throw UserError("script not found: " + spec.exec_path);
  if (S_ISDIR(st.st_mode)) throw UserError("script is a directory: " + spec.exec_path);
  const std::string ext = path.extension().string();
  if (o.contains("interpreter")) spec.interpreter = o["interpreter"];
  else if (ext == ".js" || ext == ".cjs" || ext == ".mjs") spec.interpreter = "node";
  else if (ext == ".py") spec.interpreter = "python3";
  else if (ext == ".sh") spec.interpreter = "bash";
  else if (ext == ".rb") spec.interpreter = "ruby";
  else if (ext == ".php") spec.interpreter = "php";
  else if (ext == ".pl") spec.interpreter = "perl";
  else spec.interpreter = "none";
  if (spec.interpreter == "none" && ::access(spec.exec_path.c_str(), X_OK) != 0) {
    throw UserError("script is not executable: " + spec.exec_path + " (chmod +x it, or give --interpreter)");
  }
  spec.name = o.value("name", path.stem().string());
  if (o.contains("namespace")) spec.namespace_name = o["namespace"];
  const int cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (o.contains("instances")) {
    const std::string i = o["instances"];
    spec.instances_requested = i;
    int n = 0;
    if (i == "max") n = cpus;
    else {
      try {
        size_t used = 0;
        n = std::stoi(i, &used);
        if (used != i.size()) throw std::invalid_argument(i);
      } catch (const std::exception&) {
        throw UserError("invalid --instances '" + i + "': expected a number, 'max', 0 (all CPUs) or a negative number (CPUs minus n)");
      }
      if (n <= 0) n = std::max(1, cpus + n);
    }
    spec.instances = n;
    spec.exec_mode = spec.interpreter == "node" ? ExecMode::cluster : ExecMode::fork;
  }
  if (o.contains("args")) spec.args = o["args"].get<std::vector<std::string>>();
  if (o.contains("interpreter_args")) spec.interpreter_args = o["interpreter_args"].get<std::vector<std::string>>();
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    auto eq = entry.find('=');
    if (eq != std::string::npos) spec.env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  if (o.contains("output")) spec.out_file = fs::absolute(o["output"].get<std::string>()).string();
  if (o.contains("error")) spec.error_file = fs::absolute(o["error"].get<std::string>()).string();
  spec.merge_logs = o.value("merge_logs", false);
  spec.time = o.value("time", false);
  spec.autorestart = o.value("autorestart", true);
  spec.max_restarts = o.value("max_restarts", spec.max_restarts);
  spec.min_uptime_ms = o.value("min_uptime", spec.min_uptime_ms);
  spec.restart_delay_ms = o.value("restart_delay", spec.restart_delay_ms);
  spec.exp_backoff_restart_delay_ms = o.value("exp_backoff_restart_delay", spec.exp_backoff_restart_delay_ms);
  spec.kill_timeout_ms = o.value("kill_timeout", spec.kill_timeout_ms);
  if (o.contains("stop_exit_codes")) spec.stop_exit_codes = o["stop_exit_codes"].get<std::vector<int>>();
  return spec;
}

}  // namespace drove::cli
