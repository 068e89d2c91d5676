#include "cli/render.hpp"

#include <fmt/format.h>

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "base/clock.hpp"

namespace drove::cli {
namespace {

// Display width of UTF-8 text (each code point counts one column; enough for our tables).
size_t display_width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

std::string pad(const std::string& s, size_t width) {
  return s + std::string(width - std::min(width, display_width(s)), ' ');
}

const char* status_colour(const std::string& status) {
  if (status == "online") return "\x1b[32m";
  if (status == "errored" || status == "stopped") return "\x1b[31m";
  return "\x1b[33m";
}

std::string current_user() {
  static const std::string name = [] {
    const passwd* pw = ::getpwuid(::geteuid());
    return pw ? std::string(pw->pw_name) : std::to_string(::geteuid());
  }();
  return name;
}

struct Cell {
  std::string text;
  const char* colour = nullptr;
};

}  // namespace

std::string format_bytes(std::uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024 * 1024) return fmt::format("{:.1f}gb", b / (1024.0 * 1024 * 1024));
  if (b >= 1024.0 * 1024) return fmt::format("{:.1f}mb", b / (1024.0 * 1024));
  if (b >= 1024.0) return fmt::format("{:.1f}kb", b / 1024.0);
  return fmt::format("{}b", bytes);
}

// "350 ms" under a second (how long a crash-looping process lived), format_uptime's form above.
std::string format_duration_short(std::int64_t ms) {
  return ms < 1000 ? std::to_string(ms) + " ms" : format_uptime(ms);
}

std::string format_uptime(std::int64_t ms) {
  const std::int64_t s = std::max<std::int64_t>(ms, 0) / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m", s / 60);
  if (s < 86400) return fmt::format("{}h", s / 3600);
  return fmt::format("{}D", s / 86400);
}

std::string render_table(const nlohmann::json& processes, bool colour) {
  const std::vector<std::string> headers = {"id", "name",   "namespace", "mode", "pid", "uptime",
                                            "↺",  "status", "cpu",       "mem",  "user"};
  std::vector<std::vector<Cell>> rows;
  const std::int64_t now = wall_ms();
  for (const auto& p : processes) {
    const std::string status = p.value("status", "");
    const bool running = p.value("pid", 0) != 0;
    rows.push_back({
        {std::to_string(p.value("id", 0))},
        {p.value("name", "")},
        {p.value("namespace", "")},
        {p.value("exec_mode", "fork")},
        {running ? std::to_string(p.value("pid", 0)) : "0"},
        {running ? format_uptime(now - p.value("started_at", now)) : "0"},
        {std::to_string(p.value("restart_time", 0))},
        {status, colour ? status_colour(status) : nullptr},
        {fmt::format("{:.0f}%", p.value("cpu", 0.0))},
        {format_bytes(p.value("memory", std::uint64_t{0}))},
        {p.value("user", "").empty() ? current_user() : p.value("user", "")},
    });
  }
  std::vector<size_t> widths(headers.size());
  for (size_t c = 0; c < headers.size(); ++c) {
    widths[c] = display_width(headers[c]);
    for (const auto& r : rows) widths[c] = std::max(widths[c], display_width(r[c].text));
  }
  auto rule = [&](const char* left, const char* mid, const char* right) {
    std::string line = left;
    for (size_t c = 0; c < widths.size(); ++c) {
      for (size_t i = 0; i < widths[c] + 2; ++i) line += "─";
      line += c + 1 < widths.size() ? mid : right;
    }
    return line + "\n";
  };
  std::string out = rule("┌", "┬", "┐");
  out += "│";
  for (size_t c = 0; c < headers.size(); ++c) {
    out += " " + (colour ? "\x1b[1m" + pad(headers[c], widths[c]) + "\x1b[0m" : pad(headers[c], widths[c])) + " │";
  }
  out += "\n" + rule("├", "┼", "┤");
  for (const auto& r : rows) {
    out += "│";
    for (size_t c = 0; c < r.size(); ++c) {
      const std::string cell = pad(r[c].text, widths[c]);
      out += " " + (r[c].colour ? std::string(r[c].colour) + cell + "\x1b[0m" : cell) + " │";
    }
    out += "\n";
  }
  out += rule("└", "┴", "┘");
  return out;
}

namespace {

const nlohmann::json& empty_object() {
  static const nlohmann::json empty = nlohmann::json::object();
  return empty;
}

// The spec a described process runs: its own "spec", or its app's in the shared shape.
const nlohmann::json& spec_of(const nlohmann::json& p, const nlohmann::json* apps) {
  if (apps != nullptr) {
    const auto i = p.value("app", std::size_t{0});
    if (i < apps->size()) {
      const auto& app = (*apps)[i];
      if (app.is_object() && app.contains("spec") && app["spec"].is_object()) return app["spec"];
    }
    return empty_object();
  }
  if (p.contains("spec") && p["spec"].is_object()) return p["spec"];
  return empty_object();
}

const nlohmann::json& env_of(const nlohmann::json& spec) {
  if (spec.contains("env") && spec["env"].is_object()) return spec["env"];
  return empty_object();
}

// The app's environment as PM2 shows it: values written as numbers in the ecosystem file
// (AppSpec::numeric_env) are numbers again, the rest text.
nlohmann::json typed_env(const nlohmann::json& spec) {
  nlohmann::json env = env_of(spec);
  const auto numeric = spec.find("numeric_env");
  if (numeric == spec.end() || !numeric->is_array()) return env;
  for (const auto& key : *numeric) {
    if (!key.is_string()) continue;
    auto it = env.find(key.get<std::string>());
    if (it == env.end() || !it->is_string()) continue;
    const std::string& text = it->get_ref<const std::string&>();
    if (text.empty() || text.size() > 32 || text.find_first_not_of("0123456789.-+eE") != std::string::npos) continue;
    nlohmann::json number = nlohmann::json::parse(text, nullptr, false);
    if (number.is_number()) *it = std::move(number);
  }
  return env;
}

// PM2's pm2_env for one process, without "env" (the caller adds it).
nlohmann::json pm2_env_of(const nlohmann::json& p, const nlohmann::json& spec) {
  const bool cluster = p.value("exec_mode", "fork") == "cluster";
  const std::string instance_var = spec.value("instance_var", "NODE_APP_INSTANCE");
  nlohmann::json pm2_env = {
      {"name", p.value("name", "")},
      {"namespace", p.value("namespace", "default")},
      {"status", p.value("status", "")},
      {"restart_time", p.value("restart_time", 0)},
      {"unstable_restarts", p.value("unstable_restarts", 0)},
      {"pm_uptime", p.value("started_at", std::int64_t{0})},
      {"created_at", p.value("created_at", std::int64_t{0})},
      {"exec_mode", cluster ? "cluster_mode" : "fork_mode"},
      {"instances", p.value("instances", 1)},
      {"pm_id", p.value("id", 0)},
      {"pm_out_log_path", p.value("out_log_path", "")},
      {"pm_err_log_path", p.value("err_log_path", "")},
      {"pm_pid_path", p.value("pid_path", "")},
      {"pm_log_path", p.value("log_path", "")},
      {"axm_options", {{"module_name", p.value("name", "")}}},
      {"axm_monitor", p.value("axm_monitor", nlohmann::json::object())},
      {"axm_actions", p.value("axm_actions", nlohmann::json::array())},
      {"pm_exec_path", p.value("exec_path", "")},
      {"pm_cwd", p.value("cwd", "")},
      {"exec_interpreter", p.value("interpreter", "none")},
      {"node_args", spec.value("interpreter_args", nlohmann::json::array())},
      {"args", spec.value("args", nlohmann::json::array())},
      {"watch", spec.value("watch", false)},
      {"autorestart", spec.value("autorestart", true)},
      {"autostart", spec.value("autostart", true)},
      {"instance_var", instance_var},
      {"merge_logs", spec.value("merge_logs", false)},
      {"kill_timeout", spec.value("kill_timeout_ms", 1600)},
      {"min_uptime", spec.value("min_uptime_ms", 1000)},
      {"max_restarts", spec.value("max_restarts", 16)},
      {"restart_delay", spec.value("restart_delay_ms", 0)},
      {"exp_backoff_restart_delay", spec.value("exp_backoff_restart_delay_ms", 0)},
      {"wait_ready", spec.value("wait_ready", false)},
      {"listen_timeout", spec.value("listen_timeout_ms", 3000)},
      {"treekill", spec.value("treekill", true)},
      {"lb", spec.value("lb", "round-robin")},
      {"unique_id", p.value("name", "") + "-" + std::to_string(p.value("id", 0))},
  };
  pm2_env[instance_var] = p.value("index", 0);
  if (const auto a = spec.find("autoscale"); a != spec.end() && a->is_object()) {
    pm2_env["min_instances"] = a->value("min_instances", 1);
    pm2_env["max_instances"] = a->value("max_instances", 1);
  }
  if (p.contains("last_exit") && p["last_exit"].is_object()) pm2_env["exit_code"] = p["last_exit"].value("code", -1);
  if (const auto r = p.find("last_reload"); r != p.end()) pm2_env["last_reload"] = *r;  // drove's own
  return pm2_env;
}

nlohmann::json monit_of(const nlohmann::json& p) {
  // PM2's two figures, then drove's (a PM2 tool reads the first two and ignores the rest).
  return {{"memory", p.value("memory", std::uint64_t{0})},
          {"cpu", p.value("cpu", 0.0)},
          {"private_memory", p.value("private_memory", std::uint64_t{0})},
          {"fds", p.value("fds", 0)},
          {"threads", p.value("threads", 0)}};
}

// The keys pm2_env has of its own for instances of this spec: the app's environment, flattened
// into pm2_env as PM2 does, never overrides them.
std::set<std::string> reserved_pm2_env_keys(const nlohmann::json& spec) {
  const nlohmann::json sample = {{"last_exit", {{"code", 0}}}, {"last_reload", nlohmann::json::object()}};
  std::set<std::string> keys = {"env"};
  const nlohmann::json pm2_env = pm2_env_of(sample, spec);
  for (const auto& [key, _] : pm2_env.items()) keys.insert(key);
  return keys;
}

// PM2's increment_var: the variable's base value (from env, or the app's port, or 0) plus the
// instance index, a number (as PM2 computes it).
std::optional<std::pair<std::string, long long>> incremented_var(const nlohmann::json& p, const nlohmann::json& spec) {
  const std::string var = spec.value("increment_var", "");
  if (var.empty()) return std::nullopt;
  long long base = 0;
  const auto& env = env_of(spec);
  if (env.contains(var) && env[var].is_string())
    base = std::strtoll(env[var].get_ref<const std::string&>().c_str(), nullptr, 10);
  else if (var == "PORT" && spec.contains("port") && spec["port"].is_number_integer())
    base = spec["port"].get<long long>();
  return std::pair{var, base + p.value("index", 0LL)};
}

// The app's environment flattened into pm2_env (all but the reserved keys and increment_var,
// which is per instance).
nlohmann::json flattened_env(const nlohmann::json& spec, const std::set<std::string>& reserved) {
  const std::string increment = spec.value("increment_var", "");
  nlohmann::json out = nlohmann::json::object();
  const nlohmann::json env = typed_env(spec);
  for (const auto& [key, value] : env.items()) {
    if (!reserved.count(key) && key != increment) out[key] = value;
  }
  return out;
}

struct ListView {
  const nlohmann::json* processes = nullptr;
  const nlohmann::json* apps = nullptr;  // null: each process carries its own spec
};

ListView view_of(const nlohmann::json& reply) {
  static const nlohmann::json none = nlohmann::json::array();
  if (reply.is_array()) return {&reply, nullptr};
  if (reply.is_object() && reply.contains("processes") && reply["processes"].is_array()) {
    const bool shared = reply.contains("apps") && reply["apps"].is_array();
    return {&reply["processes"], shared ? &reply["apps"] : &none};
  }
  return {&none, nullptr};
}

}  // namespace

nlohmann::json to_pm2_jlist(const nlohmann::json& list_reply) {
  nlohmann::json out = nlohmann::json::array();
  const ListView view = view_of(list_reply);
  for (const auto& p : *view.processes) {
    const auto& spec = spec_of(p, view.apps);
    nlohmann::json pm2_env = pm2_env_of(p, spec);
    pm2_env["env"] = typed_env(spec);
    const auto reserved = reserved_pm2_env_keys(spec);
    pm2_env.update(flattened_env(spec, reserved));
    if (auto inc = incremented_var(p, spec); inc && !reserved.count(inc->first)) {
      pm2_env[inc->first] = inc->second;
    }
    out.push_back({
        {"pid", p.value("pid", 0)},
        {"name", p.value("name", "")},
        {"pm_id", p.value("id", 0)},
        {"monit", monit_of(p)},
        {"pm2_env", std::move(pm2_env)},
    });
  }
  return out;
}

std::string pm2_jlist_text(const nlohmann::json& list_reply) {
  const ListView view = view_of(list_reply);
  struct AppText {
    std::string env;        // "env" value, dumped once
    std::string flattened;  // the env's members flattened into pm2_env: "\"K\":\"V\"," each
    bool increment_reserved = false;
  };
  std::unordered_map<const nlohmann::json*, AppText> app_text;  // per spec, built once
  std::string out = "[";
  bool first = true;
  bool reserved_for_all = false;
  for (const auto& p : *view.processes) {
    const auto& spec = spec_of(p, view.apps);
    auto [it, added] = app_text.try_emplace(&spec);
    if (added) {
      it->second.env = typed_env(spec).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      const auto reserved = reserved_pm2_env_keys(spec);
      const nlohmann::json flattened = flattened_env(spec, reserved);
      for (const auto& [key, value] : flattened.items()) {
        it->second.flattened += nlohmann::json(key).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        it->second.flattened += ':';
        it->second.flattened += value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        it->second.flattened += ',';
      }
      const std::string inc = spec.value("increment_var", "");
      it->second.increment_reserved = !inc.empty() && reserved.count(inc) > 0;
    }
    // pm2_env's keys are written as nlohmann would order them; "env" goes first in the
    // object, which JSON readers do not care about.
    std::string pm2_env = pm2_env_of(p, spec).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (!first) out += ',';
    first = false;
    out += "{\"monit\":";
    out += monit_of(p).dump();
    out += ",\"name\":";
    out += nlohmann::json(p.value("name", "")).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += ",\"pid\":" + std::to_string(p.value("pid", 0));
    out += ",\"pm2_env\":{";
    out += it->second.flattened;
    if (auto inc = incremented_var(p, spec); inc && !it->second.increment_reserved) {
      out += nlohmann::json(inc->first).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      out += ':' + std::to_string(inc->second) + ',';
    }
    out += "\"env\":";
    out += it->second.env;
    if (pm2_env.size() > 2) out += ',';
    out.append(pm2_env, 1, std::string::npos);  // the rest of the object, after its '{'
    out += ",\"pm_id\":" + std::to_string(p.value("id", 0)) + "}";
    if (!reserved_for_all) {
      // Entries of one app are about the same size: grow once, not by doubling (a 4.4 MB
      // jlist of 1,000 instances was copied over and over while it grew).
      reserved_for_all = true;
      out.reserve(out.size() * view.processes->size() * 11 / 10 + 4096);
    }
  }
  out += "]";
  return out;
}

namespace {

// describe's autoscaling rows: the bounds and target, where the signal stands, the last change.
void add_autoscaling_rows(const nlohmann::json& a, const nlohmann::json& p,
                          std::vector<std::pair<std::string, std::string>>& rows) {
  const nlohmann::json settings = a.value("settings", nlohmann::json::object());
  std::string line =
      fmt::format("{}..{} instances on {}, target {:g} per instance", settings.value("min_instances", 1),
                  settings.value("max_instances", 1), settings.value("metric", "cpu"), settings.value("target", 0.0));
  if (settings.value("paused", false)) {
    line += fmt::format(" (PAUSED by `drove scale`: `drove scale {} auto` resumes)", p.value("name", ""));
  }
  rows.emplace_back("autoscale", line);
  const nlohmann::json signal = a.value("signal", nlohmann::json());
  rows.emplace_back("autoscale now",
                    fmt::format("{} instances, {} recommended: {}", a.value("instances", 0), a.value("recommended", 0),
                                signal.is_number() ? a.value("reason", "") : "no measurement yet"));
  const nlohmann::json history = a.value("history", nlohmann::json::array());
  if (!history.empty() && history.back().is_object()) {
    const auto& last = history.back();
    rows.emplace_back(
        "autoscale last",
        fmt::format("{} {} -> {}, {} ago: {}", last.value("action", ""), last.value("from", 0), last.value("to", 0),
                    format_uptime(wall_ms() - last.value("at", wall_ms())), last.value("reason", "")));
  }
}

}  // namespace

std::string render_describe(const nlohmann::json& p, bool colour) {
  const nlohmann::json spec = p.value("spec", nlohmann::json::object());
  std::vector<std::pair<std::string, std::string>> rows = {
      {"status", p.value("status", "")},
      {"name", p.value("name", "")},
      {"namespace", p.value("namespace", "")},
      {"id", std::to_string(p.value("id", 0))},
      {"pid", std::to_string(p.value("pid", 0))},
      {"instance index", std::to_string(p.value("index", 0))},
      {"exec mode", p.value("exec_mode", "")},
      {"restarts", std::to_string(p.value("restart_time", 0))},
      {"unstable restarts", std::to_string(p.value("unstable_restarts", 0))},
      {"uptime", p.value("pid", 0) ? format_uptime(wall_ms() - p.value("started_at", wall_ms())) : "0"},
      {"script path", p.value("exec_path", "")},
      {"script args", spec.value("args", nlohmann::json::array()).dump()},
      {"interpreter", p.value("interpreter", "")},
      {"interpreter args", spec.value("interpreter_args", nlohmann::json::array()).dump()},
      {"exec cwd", p.value("cwd", "")},
      {"out log path", p.value("out_log_path", "")},
      {"error log path", p.value("err_log_path", "")},
      {"pid path", p.value("pid_path", "")},
      {"autorestart", spec.value("autorestart", true) ? "true" : "false"},
      {"min uptime", std::to_string(spec.value("min_uptime_ms", 0)) + " ms"},
      {"max restarts", std::to_string(spec.value("max_restarts", 0))},
      {"restart delay", std::to_string(spec.value("restart_delay_ms", 0)) + " ms"},
      {"exp backoff restart delay", std::to_string(spec.value("exp_backoff_restart_delay_ms", 0)) + " ms"},
      {"kill timeout", std::to_string(spec.value("kill_timeout_ms", 0)) + " ms"},
      {"kill signal", spec.value("kill_signal", "SIGINT")},
      {"treekill", spec.value("treekill", true) ? "true" : "false"},
      {"tree kill by", p.value("tree_kill", "")},  // cgroup, or the /proc + pidfd fallback
      {"wait ready", spec.value("wait_ready", false) ? "true" : "false"},
      {"listen timeout", std::to_string(spec.value("listen_timeout_ms", 0)) + " ms"},
      {"load balancing", spec.value("lb", "round-robin")},
      {"cpu", fmt::format("{:.1f}%", p.value("cpu", 0.0))},
      {"memory", format_bytes(p.value("memory", std::uint64_t{0}))},
      {"private memory", format_bytes(p.value("private_memory", std::uint64_t{0}))},
      {"descriptors", std::to_string(p.value("fds", 0))},
      {"threads",
       std::to_string(p.value("threads", 0)) + " in " + std::to_string(p.value("tree_processes", 0)) + " process(es)"},
  };
  if (const auto it = p.find("last_reload"); it != p.end() && it->is_object()) {
    const auto& r = *it;
    rows.emplace_back("last reload", "replacement ready in " + std::to_string(r.value("replacement_ready_ms", 0)) +
                                         " ms, previous process stopped " +
                                         (r["previous_stop_ms"].is_number()
                                              ? "in " + std::to_string(r.value("previous_stop_ms", 0)) + " ms"
                                              : std::string("(still stopping)")));
  }
  if (p.contains("last_exit")) {
    const auto& e = p["last_exit"];
    rows.emplace_back("last exit", e.value("signal", "").empty() ? "code " + std::to_string(e.value("code", -1))
                                                                 : e.value("signal", ""));
  }
  if (const auto it = p.find("exit_history"); it != p.end() && it->is_array() && !it->empty()) {
    // Newest first, the last five: a crash loop reads at a glance.
    const std::int64_t now = wall_ms();
    std::size_t shown = 0;
    for (auto e = it->rbegin(); e != it->rend() && shown < 5; ++e, ++shown) {
      const std::string how =
          e->value("signal", "").empty() ? "code " + std::to_string(e->value("code", -1)) : e->value("signal", "");
      rows.emplace_back(shown == 0 ? "exits" : "", format_uptime(std::max<std::int64_t>(now - e->value("at", now), 0)) +
                                                       " ago: " + how + " after " +
                                                       format_duration_short(e->value("uptime_ms", std::int64_t{0})) +
                                                       (e->value("stopped", false) ? " (stopped)" : " (on its own)"));
    }
  }
  if (!p.value("last_error", "").empty()) rows.emplace_back("last error", p.value("last_error", ""));
  if (const auto it = p.find("dropped_messages"); it != p.end() && it->is_object()) {
    rows.emplace_back("dropped messages",
                      std::to_string(it->value("count", 0ULL)) + ", last: " + it->value("last_reason", std::string()));
  }
  if (!p.value("last_restart_reason", "").empty())
    rows.emplace_back("last restart", p.value("last_restart_reason", ""));
  if (const auto it = p.find("autoscaling"); it != p.end() && it->is_object()) add_autoscaling_rows(*it, p, rows);
  // PM2's "Code metrics value": what the app's @pm2/io reports.
  if (const auto it = p.find("axm_monitor"); it != p.end() && it->is_object()) {
    for (const auto& [name, metric] : it->items()) {
      const nlohmann::json value = metric.is_object() ? metric.value("value", nlohmann::json()) : metric;
      std::string text = value.is_string() ? value.get<std::string>() : value.dump();
      if (metric.is_object() && metric.contains("unit") && metric["unit"].is_string() &&
          !metric["unit"].get_ref<const std::string&>().empty())
        text += " " + metric["unit"].get<std::string>();
      rows.emplace_back("metric " + name, text);
    }
  }
  if (const auto it = p.find("axm_actions"); it != p.end() && it->is_array() && !it->empty()) {
    std::string names;
    for (const auto& a : *it) names += (names.empty() ? "" : ", ") + a.value("action_name", std::string());
    rows.emplace_back("actions (drove trigger)", names);
  }
  if (p.value("watching", false)) rows.emplace_back("watching", "yes");
  if (const auto messages = p.value("messages", nlohmann::json::array()); !messages.empty()) {
    rows.emplace_back("last message", messages.back().value("data", nlohmann::json()).dump());
  }
  for (const auto& file : p.value("log_files", nlohmann::json::array())) {
    std::string text = format_bytes(file.value("bytes_written", std::uint64_t{0})) + " written";
    if (const auto dropped = file.value("bytes_dropped", std::uint64_t{0}); dropped > 0) {
      text += ", " + format_bytes(dropped) + " DROPPED (" + file.value("last_error", nlohmann::json("")).dump() + ")";
    }
    rows.emplace_back("log " + file.value("path", ""), text);
  }
  for (const char* key : {"max_memory_restart", "cron_restart", "watch", "log_max_size", "log_retain", "log_compress",
                          "log_date_format"}) {
    if (spec.contains(key) && !spec[key].is_null() && spec[key] != nlohmann::json("") &&
        spec[key] != nlohmann::json(false) && spec[key] != nlohmann::json(0)) {
      rows.emplace_back(key, spec[key].is_string() ? spec[key].get<std::string>() : spec[key].dump());
    }
  }
  size_t width = 0;
  for (const auto& [k, _] : rows) width = std::max(width, k.size());
  std::string out = fmt::format(" Describing process with id {} - name {}\n", p.value("id", 0), p.value("name", ""));
  for (const auto& [k, v] : rows) {
    const std::string key = pad(k, width);
    out += colour ? fmt::format(" \x1b[1m{}\x1b[0m │ {}\n", key, v) : fmt::format(" {} │ {}\n", key, v);
  }
  return out;
}

std::string version_mismatch(const std::string& cli_version, const nlohmann::json& daemon_ping) {
  const std::string daemon = daemon_ping.value("version", "");
  if (daemon == cli_version) return "";
  return fmt::format(
      "the running daemon is drove {}, this drove is {}: `drove update` hands the apps to this "
      "binary's daemon",
      daemon.empty() ? "of an unknown version" : daemon, cli_version);
}

std::string render_versions(const std::string& cli_version, const nlohmann::json& daemon_ping) {
  std::string out = cli_version + "\n";
  if (daemon_ping.is_null()) return out;
  out += fmt::format("daemon {} (pid {})\n", daemon_ping.value("version", "?"), daemon_ping.value("pid", 0));
  if (auto warning = version_mismatch(cli_version, daemon_ping); !warning.empty()) out += warning + "\n";
  return out;
}

}  // namespace drove::cli
