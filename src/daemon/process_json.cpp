#include "daemon/process_json.hpp"

#include <unordered_map>

namespace drove::daemon {

using supervisor::Instance;
using supervisor::ProcessView;
using supervisor::Supervisor;

nlohmann::json row_json(const ProcessView& v) {
  nlohmann::json j = {{"id", v.id},
                      {"name", v.name},
                      {"namespace", v.namespace_name},
                      {"index", v.index},
                      {"pid", v.pid},
                      {"status", to_string(v.state)},
                      {"exec_mode", to_string(v.exec_mode)},
                      {"restart_time", v.restart_time},
                      {"started_at", v.started_at_ms},
                      {"cpu", v.cpu_percent},
                      {"memory", v.memory_bytes},
                      {"private_memory", v.private_memory_bytes},
                      {"fds", v.open_fds},
                      {"threads", v.threads},
                      {"tree_processes", v.tree_processes},
                      {"user", v.user},
                      {"last_error", v.last_error}};
  if (!v.app_metrics.empty()) j["axm_monitor"] = v.app_metrics;
  return j;
}

nlohmann::json view_json(const ProcessView& v) {
  nlohmann::json j = row_json(v);
  j.update(nlohmann::json{
      {"instances", v.instances},
      {"unstable_restarts", v.unstable_restarts},
      {"created_at", v.created_at_ms},
      {"out_log_path", v.out_log_path},
      {"err_log_path", v.err_log_path},
      {"log_path", v.log_path},
      {"pid_path", v.pid_path},
      {"exec_path", v.exec_path},
      {"interpreter", v.interpreter},
      {"cwd", v.cwd},
      {"last_restart_reason", v.last_restart_reason},
      {"watching", v.watching},
      {"tree_kill", to_string(v.tree_kill)},
  });
  if (v.last_replacement_ready_ms >= 0) {
    j["last_reload"] = {{"replacement_ready_ms", v.last_replacement_ready_ms},
                        {"previous_stop_ms",
                         v.last_retirement_ms >= 0 ? nlohmann::json(v.last_retirement_ms) : nlohmann::json(nullptr)}};
  }
  if (v.dropped_messages != 0) {
    j["dropped_messages"] = {{"count", v.dropped_messages}, {"last_reason", v.last_dropped_reason}};
  }
  if (!v.app_actions.empty()) j["axm_actions"] = v.app_actions;
  if (!v.exits.empty()) {
    nlohmann::json exits = nlohmann::json::array();
    for (const auto& e : v.exits) {
      exits.push_back({{"at", e.at_ms},
                       {"code", e.status.code},
                       {"signal", e.status.signal ? process::signal_name(e.status.signal) : ""},
                       {"uptime_ms", e.uptime_ms},
                       {"stopped", e.stopped}});
    }
    j["exit_history"] = std::move(exits);
  }
  if (v.last_exit) {
    j["last_exit"] = {{"code", v.last_exit->code},
                      {"signal", v.last_exit->signal ? process::signal_name(v.last_exit->signal) : ""}};
  }
  return j;
}

nlohmann::json autoscaling_json(const supervisor::App& app) {
  if (!app.spec.autoscale) return nullptr;
  const auto& a = app.autoscaling;
  nlohmann::json history = nlohmann::json::array();
  for (const auto& r : a.history) {
    history.push_back({{"at", r.at_ms}, {"action", r.action}, {"from", r.from}, {"to", r.to}, {"reason", r.reason}});
  }
  return {{"settings", *app.spec.autoscale},
          {"instances", app.instances.size()},
          {"signal", a.signal.available ? nlohmann::json(a.signal.value) : nlohmann::json()},
          {"recommended", a.recommended},
          {"reason", a.reason},
          {"scaling_down", a.busy},
          {"ups", a.ups},
          {"downs", a.downs},
          {"history", std::move(history)}};
}

LogFileStats log_file_stats(const Supervisor& supervisor) {
  LogFileStats by_path;
  for (auto& file : supervisor.logs().stats().value("files", nlohmann::json::array()))
    by_path[file.value("path", "")] = file;
  return by_path;
}

nlohmann::json describe_json(const Supervisor& supervisor, const Instance& instance, const LogFileStats& log_files,
                             bool with_app) {
  nlohmann::json j = view_json(supervisor.view(instance));
  j["messages"] = nlohmann::json(instance.messages);
  if (!with_app) return j;
  j["spec"] = instance.app->spec;
  // The log files it writes, with bytes written and dropped (a failing disk shows here).
  nlohmann::json files = nlohmann::json::array();
  const auto& o = instance.output_spec;
  for (const auto* path : {&o.out_path, &o.err_path, &o.combined_path}) {
    if (auto it = log_files.find(*path); !path->empty() && it != log_files.end()) files.push_back(it->second);
  }
  j["log_files"] = std::move(files);
  if (instance.app->primary) j["cluster"] = instance.app->primary->describe();
  if (instance.app->spec.autoscale) j["autoscaling"] = autoscaling_json(*instance.app);
  return j;
}

// Without `full`, only the table's columns: a list of hundreds of apps stays a few kilobytes
// to build, send and parse.
nlohmann::json list_json(const Supervisor& supervisor, bool full, bool history) {
  nlohmann::json out = nlohmann::json::array();
  const auto log_files = full ? log_file_stats(supervisor) : LogFileStats{};
  for (const Instance* instance : supervisor.instances()) {
    out.push_back(full ? describe_json(supervisor, *instance, log_files) : row_json(supervisor.row(*instance)));
    if (history) out.back()["history"] = history_json(instance->usage_history, supervisor.sample_interval_ms());
  }
  return out;
}

nlohmann::json history_json(const supervisor::ResourceHistory& history, std::int64_t interval_ms) {
  return {{"interval_ms", interval_ms},
          {"end", history.last_at_ms()},
          {"cpu", history.cpu()},
          {"memory", history.memory()}};
}

nlohmann::json list_shared_json(const Supervisor& supervisor) {
  nlohmann::json apps = nlohmann::json::array();
  nlohmann::json processes = nlohmann::json::array();
  std::unordered_map<const supervisor::App*, std::size_t> app_index;
  const auto log_files = log_file_stats(supervisor);
  for (const Instance* instance : supervisor.instances()) {
    const supervisor::App* app = instance->app;
    auto [it, added] = app_index.try_emplace(app, apps.size());
    if (added) {
      nlohmann::json entry = {{"spec", app->spec}};
      if (app->primary) entry["cluster"] = app->primary->describe();
      if (app->spec.autoscale) entry["autoscaling"] = autoscaling_json(*app);
      apps.push_back(std::move(entry));
    }
    nlohmann::json p = describe_json(supervisor, *instance, log_files, /*with_app=*/false);
    p["app"] = it->second;
    processes.push_back(std::move(p));
  }
  nlohmann::json files = nlohmann::json::array();
  for (const auto& [_, stats] : log_files) files.push_back(stats);
  return {{"apps", std::move(apps)}, {"processes", std::move(processes)}, {"log_files", std::move(files)}};
}

}  // namespace drove::daemon
