#include "config/pm2_dump.hpp"

#include <map>
#include <string>
#include <vector>

#include "config/option_names.hpp"

namespace drove::config {
namespace {

// pm2_env keys PM2 derives from an option (lib/Common.js prepareAppConf, God.prepare).
const std::map<std::string, std::string>& renamed_keys() {
  static const std::map<std::string, std::string> renamed = {
      {"pm_exec_path", "script"},          {"pm_cwd", "cwd"},
      {"exec_interpreter", "interpreter"}, {"pm_out_log_path", "out_file"},
      {"pm_err_log_path", "error_file"},   {"pm_log_path", "log_file"},
      {"pm_pid_path", "pid_file"},
  };
  return renamed;
}

// Option keys whose pm2_env value is PM2's state rather than what the user asked for.
bool is_state(const std::string& key) {
  return key == "instances" || key == "name" || key == "script" || key == "cwd" || key == "interpreter" ||
         key == "exec_mode" || key == "out_file" || key == "error_file" || key == "log_file" || key == "pid_file";
}

}  // namespace

bool is_pm2_dump(const nlohmann::json& dump) {
  if (!dump.is_array()) return false;
  for (const auto& entry : dump) {
    if (!entry.is_object()) return false;
  }
  return true;
}

nlohmann::json pm2_dump_as_ecosystem(const nlohmann::json& dump) {
  std::vector<std::string> order;
  std::map<std::string, nlohmann::json> apps;
  std::map<std::string, bool> any_running;
  for (const auto& entry : dump) {
    if (!entry.is_object() || entry.value("pmx_module", false)) continue;  // PM2 modules are not apps
    const std::string name = entry.value("name", std::string());
    auto [it, fresh] = apps.try_emplace(name, nlohmann::json::object());
    nlohmann::json& app = it->second;
    if (!fresh) {
      app["instances"] = app.value("instances", 1) + 1;
    } else {
      order.push_back(name);
      if (!name.empty()) app["name"] = name;
      app["instances"] = 1;
      for (const auto& [key, value] : entry.items()) {
        if (auto r = renamed_keys().find(key); r != renamed_keys().end()) {
          if (value.is_string() && !value.get<std::string>().empty()) app[r->second] = value;
          continue;
        }
        if (key == "exec_mode" && value.is_string()) {
          app["exec_mode"] = value.get<std::string>() == "cluster_mode" ? "cluster" : "fork";
          continue;
        }
        if (key == "env") {
          if (value.is_object()) app["env"] = value;
          continue;
        }
        const KeyLookup lookup = lookup_option_key(key);
        if (lookup.kind != KeyKind::option || is_state(lookup.canonical) || value.is_null()) continue;
        if (value.is_string() && value.get<std::string>().empty()) continue;  // PM2's "not set"
        app[key] = value;
      }
    }
    any_running[name] = any_running[name] || entry.value("status", std::string("online")) != "stopped";
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& name : order) {
    nlohmann::json app = std::move(apps[name]);
    if (!any_running[name]) app["autostart"] = false;
    // PM2 runs one process per entry: a fork-mode app with several entries is several copies.
    out.push_back(std::move(app));
  }
  return {{"apps", std::move(out)}};
}

}  // namespace drove::config
