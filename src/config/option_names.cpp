#include "config/option_names.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>
#include <vector>

namespace drove::config {
namespace {

struct OptionName {
  const char* canonical;
  std::vector<const char*> aliases;
};

// pm2-reference.md's option table plus drove's extensions (listen, lb, log rotation,
// kill_signal).
const std::vector<OptionName>& option_names() {
  static const std::vector<OptionName> names = {
      {"script", {"cmd", "command", "exec"}},
      {"name", {}},
      {"name_prefix", {}},
      {"namespace", {}},
      {"cwd", {}},
      {"args", {}},
      {"interpreter", {"exec_interpreter"}},
      {"interpreter_args", {"node_args"}},
      {"instances", {}},
      {"exec_mode", {}},
      {"min_instances", {}},
      {"max_instances", {}},
      {"scale_metric", {}},
      {"scale_target", {}},
      {"scale_up_step", {}},
      {"scale_down_step", {}},
      {"scale_up_cooldown", {}},
      {"scale_down_delay", {}},
      {"env", {}},
      {"filter_env", {}},
      {"append_env_to_name", {}},
      {"instance_var", {}},
      {"increment_var", {}},
      {"port", {}},
      {"listen", {}},
      {"lb", {"load_balance"}},
      {"out_file", {"out", "output", "out_log"}},
      {"error_file", {"error", "err", "err_file", "err_log"}},
      {"log_file", {"log"}},
      {"log_type", {}},
      {"log_date_format", {}},
      {"time", {}},
      {"merge_logs", {"combine_logs"}},
      {"disable_logs", {}},
      {"log_max_size", {}},
      {"log_retain", {}},
      {"log_compress", {}},
      {"log_rotate_daily", {}},
      {"pid_file", {"pid"}},
      {"min_uptime", {}},
      {"max_restarts", {}},
      {"restart_delay", {}},
      {"exp_backoff_restart_delay", {}},
      {"autorestart", {}},
      {"autostart", {}},
      {"stop_exit_codes", {}},
      {"kill_timeout", {}},
      {"kill_signal", {}},
      {"shutdown_with_message", {}},
      {"treekill", {}},
      {"wait_ready", {}},
      {"listen_timeout", {}},
      {"max_memory_restart", {}},
      {"cron_restart", {"cron"}},
      {"watch", {}},
      {"ignore_watch", {}},
      {"watch_delay", {}},
      {"uid", {"user"}},
      {"gid", {}},
      {"force", {}},
      {"ipc", {}},
      {"node_metrics", {}},
      {"allow_privileged_ports", {}},
      {"max_listeners", {}},
  };
  return names;
}

// In PM2's schema, meaningless to drove: accepted without effect (and said so).
const std::vector<const char*> kIgnoredPm2Keys = {"install_url",
                                                  "source_map_support",
                                                  "disable_source_map_support",
                                                  "vizion",
                                                  "post_update",
                                                  "trace",
                                                  "disable_trace",
                                                  "v8",
                                                  "event_loop_inspector",
                                                  "deep_monitoring",
                                                  "pmx",
                                                  "automation",
                                                  "username",
                                                  "windows_hide",
                                                  "kill_retry_time",
                                                  "write",
                                                  "io",
                                                  "watch_options",
                                                  "execute_command",
                                                  "node_version",
                                                  "vizion_running",
                                                  "pm_exec_path"};

std::string camel_case(const std::string& snake) {
  std::string out;
  bool upper = false;
  for (char c : snake) {
    if (c == '_') {
      upper = true;
    } else {
      out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    }
  }
  return out;
}

// Every accepted spelling → its lookup.
const std::map<std::string, KeyLookup>& spellings() {
  static const std::map<std::string, KeyLookup> table = [] {
    std::map<std::string, KeyLookup> out;
    auto add = [&out](const std::string& spelling, KeyLookup lookup) {
      out.emplace(spelling, lookup);
      out.emplace(camel_case(spelling), lookup);
    };
    for (const auto& option : option_names()) {
      const KeyLookup lookup{KeyKind::option, option.canonical};
      add(option.canonical, lookup);
      for (const char* alias : option.aliases) add(alias, lookup);
    }
    for (const char* key : kIgnoredPm2Keys) add(key, KeyLookup{KeyKind::ignored, key});
    return out;
  }();
  return table;
}

}  // namespace

std::vector<std::string> canonical_option_names() {
  std::vector<std::string> out;
  for (const auto& option : option_names()) out.emplace_back(option.canonical);
  return out;
}

std::vector<std::string> ignored_pm2_keys() { return {kIgnoredPm2Keys.begin(), kIgnoredPm2Keys.end()}; }

KeyLookup lookup_option_key(const std::string& key) {
  if (auto it = spellings().find(key); it != spellings().end()) return it->second;
  if (key.size() > 4 && key.rfind("env_", 0) == 0) return KeyLookup{KeyKind::environment, key};
  return KeyLookup{KeyKind::unknown, key};
}

// Not instrumented for fuzzing coverage: its comparisons carry no branch worth steering a fuzzer
// to, and tracing each of them made edit_distance most of the ecosystem targets' time.
#if defined(__clang__) && __clang_major__ >= 13
#define DROVE_NO_FUZZ_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define DROVE_NO_FUZZ_COVERAGE
#endif

DROVE_NO_FUZZ_COVERAGE size_t edit_distance(const std::string& a, const std::string& b) {
  // Three rolling rows (the transposition looks two rows back) instead of a full matrix.
  std::vector<size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        current[j] = std::min(current[j], before[j - 2] + 1);
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

namespace {
// The options' spellings, lowered once.
const std::vector<std::pair<std::string, std::string>>& lowered_option_spellings() {
  static const auto lowered = [] {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [spelling, lookup] : spellings()) {
      if (lookup.kind != KeyKind::option) continue;
      std::string low = spelling;
      for (char& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.emplace_back(spelling, std::move(low));
    }
    return out;
  }();
  return lowered;
}
}  // namespace

std::optional<std::string> suggest_option_key(const std::string& unknown_key) {
  // Close enough to be a typo: two edits, three for long keys; never more than half the key.
  const size_t allowed = unknown_key.size() >= 10 ? 3 : 2;
  std::string lowered = unknown_key;
  for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::optional<std::string> best;
  size_t best_distance = 0;
  for (const auto& [spelling, candidate] : lowered_option_spellings()) {
    // The distance is at least the difference in length: a candidate that far off is not
    // computed (a 1 MB key in a config file was compared with every option, for minutes).
    const size_t gap =
        candidate.size() > lowered.size() ? candidate.size() - lowered.size() : lowered.size() - candidate.size();
    if (gap > allowed) continue;
    const size_t distance = edit_distance(lowered, candidate);
    if (!best || distance < best_distance) {
      best = spelling;
      best_distance = distance;
    }
  }
  if (!best || best_distance > allowed || best_distance * 2 > unknown_key.size()) return std::nullopt;
  return best;
}

}  // namespace drove::config
