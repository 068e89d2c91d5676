// Prometheus text exposition; see metrics_text.hpp.
#include "daemon/metrics_text.hpp"

#include <fmt/format.h>

#include <map>
#include <utility>

namespace drove::daemon {
namespace {

// Families in the order they were declared, each with its samples.
class Exposition {
 public:
  void family(const std::string& name, const char* type, const char* help) {
    order_.push_back(name);
    families_[name] = {fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type), ""};
  }
  void sample(const std::string& name, const std::string& labels, double value) {
    auto& body = families_.at(name).second;
    body += name;
    if (!labels.empty()) body += "{" + labels + "}";
    body += " " + fmt::format("{}", value) + "\n";
  }
  [[nodiscard]] std::string text() const {
    std::string out;
    for (const auto& name : order_) {
      const auto& [head, body] = families_.at(name);
      out += head + body;
    }
    return out;
  }

 private:
  std::vector<std::string> order_;
  std::map<std::string, std::pair<std::string, std::string>> families_;
};

std::string label(const char* name, const std::string& value) {
  return fmt::format("{}=\"{}\"", name, escape_label_value(value));
}

// app, namespace, instance (pm_id), pid: every per-instance family's labels.
std::string instance_labels(const supervisor::ProcessView& p) {
  return label("app", p.name) + "," + label("namespace", p.namespace_name) + "," +
         label("instance", std::to_string(p.id)) + "," + label("pid", std::to_string(p.pid));
}

}  // namespace

std::string escape_label_value(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string metrics_text(const MetricsInput& in) {
  const auto& processes = in.processes;
  const auto& daemon = in.daemon;
  const std::int64_t now_ms = in.now_ms;
  Exposition e;
  e.family("drove_daemon_info", "gauge", "The drove daemon: its version and pid (always 1).");
  e.sample("drove_daemon_info", label("version", daemon.version) + "," + label("pid", std::to_string(daemon.pid)), 1);
  e.family("drove_daemon_resident_memory_bytes", "gauge", "The daemon's resident memory.");
  e.sample("drove_daemon_resident_memory_bytes", "", static_cast<double>(daemon.resident_bytes));
  e.family("drove_daemon_open_fds", "gauge", "Descriptors the daemon holds (several per app).");
  e.sample("drove_daemon_open_fds", "", static_cast<double>(daemon.open_fds));
  e.family("drove_daemon_cpu_seconds_total", "counter", "CPU time the daemon used (user + system).");
  e.sample("drove_daemon_cpu_seconds_total", "", daemon.cpu_seconds);
  e.family("drove_daemon_loop_turns_total", "counter", "Turns of the daemon's event loop.");
  e.sample("drove_daemon_loop_turns_total", "", static_cast<double>(daemon.loop_turns));
  e.family("drove_daemon_loop_longest_turn_seconds", "gauge",
           "The longest turn of the daemon's event loop in the last minute: how long anything waited for it.");
  e.sample("drove_daemon_loop_longest_turn_seconds", "", daemon.loop_recent_longest_turn_seconds);
  e.family("drove_daemon_contained_errors_total", "counter",
           "Internal errors the daemon contained at its event-loop barrier (non-zero: a bug worth reporting).");
  e.sample("drove_daemon_contained_errors_total", "", static_cast<double>(daemon.contained_errors));

  e.family("drove_process_up", "gauge", "1 when the instance is online (serving), else 0.");
  e.family("drove_process_state", "gauge", "The instance's state, as a label (always 1).");
  e.family("drove_process_cpu_percent", "gauge",
           "CPU of the instance's whole process tree, last sample (100 = a core).");
  e.family("drove_process_memory_bytes", "gauge", "Resident memory of the instance's whole process tree, last sample.");
  e.family("drove_process_private_memory_bytes", "gauge",
           "Private memory (resident minus shared pages) of the instance's whole process tree, last sample.");
  e.family("drove_process_open_fds", "gauge", "Descriptors open in the instance's whole process tree, last sample.");
  e.family("drove_process_threads", "gauge", "Threads of the instance's whole process tree, last sample.");
  e.family("drove_process_tree_processes", "gauge",
           "Processes in the instance's tree (its main process and descendants), last sample.");
  e.family("drove_process_restarts_total", "counter", "Restarts of the instance (PM2's restart_time).");
  e.family("drove_process_uptime_seconds", "gauge", "Time since the instance's current process started.");
  for (const auto& p : processes) {
    const std::string labels = instance_labels(p);
    const bool online = p.state == supervisor::InstanceState::online;
    e.sample("drove_process_up", labels, online ? 1 : 0);
    e.sample("drove_process_state", labels + "," + label("state", supervisor::to_string(p.state)), 1);
    e.sample("drove_process_cpu_percent", labels, p.cpu_percent);
    e.sample("drove_process_memory_bytes", labels, static_cast<double>(p.memory_bytes));
    e.sample("drove_process_private_memory_bytes", labels, static_cast<double>(p.private_memory_bytes));
    e.sample("drove_process_open_fds", labels, p.open_fds);
    e.sample("drove_process_threads", labels, p.threads);
    e.sample("drove_process_tree_processes", labels, p.tree_processes);
    e.sample("drove_process_restarts_total", labels, p.restart_time);
    const bool running = p.pid > 0 && p.started_at_ms > 0;
    e.sample("drove_process_uptime_seconds", labels,
             running ? static_cast<double>(now_ms - p.started_at_ms) / 1000.0 : 0.0);
  }

  // The last zero-downtime reload of each instance that had one.
  e.family("drove_process_last_reload_ready_seconds", "gauge",
           "The instance's last reload: from its replacement's launch until it was ready and took over.");
  e.family("drove_process_last_reload_retirement_seconds", "gauge",
           "The instance's last reload: how long the previous process took to finish its work and exit.");
  for (const auto& p : processes) {
    if (p.last_replacement_ready_ms >= 0)
      e.sample("drove_process_last_reload_ready_seconds", instance_labels(p),
               static_cast<double>(p.last_replacement_ready_ms) / 1000.0);
    if (p.last_retirement_ms >= 0)
      e.sample("drove_process_last_reload_retirement_seconds", instance_labels(p),
               static_cast<double>(p.last_retirement_ms) / 1000.0);
  }
  e.family("drove_reloads_total", "counter", "Zero-downtime reloads of the app that finished, by outcome.");
  e.family("drove_reload_last_duration_seconds", "gauge", "How long the app's last reload took, begin to end.");
  for (const auto& r : in.reloads) {
    const std::string labels = label("app", r.app) + "," + label("namespace", r.namespace_name);
    e.sample("drove_reloads_total", labels + "," + label("outcome", "done"), static_cast<double>(r.done));
    e.sample("drove_reloads_total", labels + "," + label("outcome", "aborted"), static_cast<double>(r.aborted));
    if (r.last_ms >= 0) e.sample("drove_reload_last_duration_seconds", labels, static_cast<double>(r.last_ms) / 1000.0);
  }

  // What the apps' @pm2/io reports (numbers and booleans; a string value has no sample).
  e.family("drove_app_metric", "gauge",
           "A metric the app reports through @pm2/io (io.metric, counter, meter, histogram), last value.");
  for (const auto& p : processes) {
    if (!p.app_metrics.is_object()) continue;
    for (const auto& [name, metric] : p.app_metrics.items()) {
      const nlohmann::json value = metric.is_object() ? metric.value("value", nlohmann::json()) : metric;
      if (!value.is_number() && !value.is_boolean()) continue;
      const std::string unit = metric.is_object() ? metric.value("unit", "") : "";
      e.sample("drove_app_metric", instance_labels(p) + "," + label("metric", name) + "," + label("unit", unit),
               value.is_boolean() ? (value.get<bool>() ? 1.0 : 0.0) : value.get<double>());
    }
  }

  e.family("drove_cluster_accepted_connections_total", "counter",
           "Connections the daemon accepted on a cluster app's listening socket and handed to a worker "
           "(round-robin and least-connections; 0 where workers accept themselves).");
  e.family("drove_cluster_accept_queue", "gauge",
           "Connections waiting in the kernel's accept queue of a cluster app's listening socket (TCP), now.");
  for (const auto& l : in.listeners) {
    const std::string labels = label("app", l.app) + "," + label("namespace", l.namespace_name) + "," +
                               label("address", l.address) + "," + label("port", std::to_string(l.port));
    e.sample("drove_cluster_accepted_connections_total", labels, static_cast<double>(l.accepted));
    e.sample("drove_cluster_accept_queue", labels, static_cast<double>(l.accept_queue));
  }

  e.family("drove_cluster_worker_handed_connections_total", "counter",
           "Connections the daemon handed to this worker (round-robin and least-connections).");
  e.family("drove_cluster_worker_unacknowledged_connections", "gauge",
           "Connections handed to this worker that it has not acknowledged yet, now.");
  e.family("drove_cluster_worker_open_connections", "gauge",
           "Connections this worker holds open now (sock_diag census; 0 where unavailable).");
  for (const auto& w : in.workers) {
    const std::string labels = instance_labels(w.process);
    e.sample("drove_cluster_worker_handed_connections_total", labels, static_cast<double>(w.handed));
    e.sample("drove_cluster_worker_unacknowledged_connections", labels, static_cast<double>(w.in_flight));
    e.sample("drove_cluster_worker_open_connections", labels, static_cast<double>(w.open_connections));
  }

  e.family("drove_autoscale_instances", "gauge", "Instances of an autoscaled app now.");
  e.family("drove_autoscale_recommended_instances", "gauge",
           "The instance count the app's signal recommends (before cool-down and the scale-down delay).");
  e.family("drove_autoscale_min_instances", "gauge", "The app's min_instances.");
  e.family("drove_autoscale_max_instances", "gauge", "The app's max_instances.");
  e.family("drove_autoscale_signal", "gauge",
           "The measured signal: cpu (% summed over the app), pending (connections waiting), or loadavg.");
  e.family("drove_autoscale_target", "gauge", "The app's scale_target, per instance, in the signal's unit.");
  e.family("drove_autoscale_paused", "gauge", "1 while a manual `drove scale` pins the count.");
  e.family("drove_autoscale_decisions_total", "counter", "Scale-ups and scale-downs autoscaling carried out.");
  for (const auto& a : in.autoscaled) {
    const std::string labels = label("app", a.app) + "," + label("namespace", a.namespace_name);
    const std::string with_metric = labels + "," + label("metric", a.metric);
    e.sample("drove_autoscale_instances", labels, a.instances);
    e.sample("drove_autoscale_recommended_instances", labels, a.recommended);
    e.sample("drove_autoscale_min_instances", labels, a.min_instances);
    e.sample("drove_autoscale_max_instances", labels, a.max_instances);
    if (a.signal) e.sample("drove_autoscale_signal", with_metric, *a.signal);
    e.sample("drove_autoscale_target", with_metric, a.target);
    e.sample("drove_autoscale_paused", labels, a.paused ? 1 : 0);
    e.sample("drove_autoscale_decisions_total", labels + "," + label("direction", "up"), static_cast<double>(a.ups));
    e.sample("drove_autoscale_decisions_total", labels + "," + label("direction", "down"),
             static_cast<double>(a.downs));
  }
  return e.text();
}

}  // namespace drove::daemon
