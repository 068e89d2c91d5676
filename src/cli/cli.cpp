#include "cli/cli.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include "base/home_paths.hpp"
#include "cli/client.hpp"
#include "cli/provisional_spec.hpp"
#include "cli/render.hpp"
#include "daemon/daemon.hpp"
#include "daemon/dump.hpp"

extern char** environ;

namespace drove::cli {
namespace {

struct StartFlags {
  std::string name, instances, interpreter, interpreter_args, cwd, namespace_name, output, error, log;
  std::string stop_exit_codes, env_name;
  bool merge_logs = false, time = false, no_autorestart = false, update_env = false, force = false;
  std::optional<int> max_restarts;
  std::optional<std::int64_t> min_uptime, restart_delay, exp_backoff, kill_timeout;
};

bool stdout_is_tty() { return ::isatty(STDOUT_FILENO) == 1; }

void print_list(Client& client) {
  std::fputs(render_table(client.call("list", {{"full", false}}), stdout_is_tty()).c_str(), stdout);
}

nlohmann::json start_options(const StartFlags& f, const std::vector<std::string>& app_args) {
  nlohmann::json o = nlohmann::json::object();
  if (!f.name.empty()) o["name"] = f.name;
  if (!f.instances.empty()) o["instances"] = f.instances;
  if (!f.interpreter.empty()) o["interpreter"] = f.interpreter;
  if (!f.interpreter_args.empty()) {
    std::vector<std::string> words;
    std::string word;
    for (char c : f.interpreter_args + " ") {
      if (c == ' ') {
        if (!word.empty()) words.push_back(word);
        word.clear();
      } else {
        word += c;
      }
    }
    o["interpreter_args"] = words;
  }
  if (!f.cwd.empty()) o["cwd"] = f.cwd;
  if (!f.namespace_name.empty()) o["namespace"] = f.namespace_name;
  if (!f.output.empty()) o["output"] = f.output;
  if (!f.error.empty()) o["error"] = f.error;
  if (f.merge_logs) o["merge_logs"] = true;
  if (f.time) o["time"] = true;
  if (f.no_autorestart) o["autorestart"] = false;
  if (f.max_restarts) o["max_restarts"] = *f.max_restarts;
  if (f.min_uptime) o["min_uptime"] = *f.min_uptime;
  if (f.restart_delay) o["restart_delay"] = *f.restart_delay;
  if (f.exp_backoff) o["exp_backoff_restart_delay"] = *f.exp_backoff;
  if (f.kill_timeout) o["kill_timeout"] = *f.kill_timeout;
  if (!f.stop_exit_codes.empty()) {
    std::vector<int> codes;
    std::string token;
    for (char c : f.stop_exit_codes + ",") {
      if (c == ',' || c == ' ') {
        if (!token.empty()) {
          try {
            codes.push_back(std::stoi(token));
          } catch (const std::exception&) {
            throw UserError("invalid --stop-exit-codes '" + f.stop_exit_codes + "': expected numbers");
          }
        }
        token.clear();
      } else {
        token += c;
      }
    }
    o["stop_exit_codes"] = codes;
  }
  if (!app_args.empty()) o["args"] = app_args;
  return o;
}

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

int cmd_start(const HomeLayout& home, const std::vector<std::string>& positional, const StartFlags& flags,
              const std::vector<std::string>& app_args) {
  std::vector<std::string> targets = positional;
  if (targets.empty()) throw UserError("nothing to start: give a script, an ecosystem file, or an app name");
  std::vector<AppSpec> specs;
  std::vector<std::string> existing;
  const nlohmann::json options = start_options(flags, app_args);
  for (const auto& target : targets) {
    if (is_file(target) || target.find('/') != std::string::npos || target.find('.') != std::string::npos) {
      specs.push_back(provisional_app_from_script(target, options));
    } else {
      existing.push_back(target);
    }
  }
  Client client = Client::connect(home);
  if (!existing.empty()) {
    // Not a file: the name, id or namespace of an app the daemon knows.
    try {
      client.call("start_existing", {{"targets", existing}});
    } catch (const UserError& e) {
      if (existing.size() == 1 && specs.empty()) {
        throw UserError("script or app not found: " + existing.front());
      }
      throw;
    }
  }
  if (!specs.empty()) client.call("start", {{"apps", specs}});
  print_list(client);
  return 0;
}

int cmd_targets(const HomeLayout& home, const std::string& method, const std::vector<std::string>& targets, bool update_env) {
  if (targets.empty()) throw UserError("'" + method + "' needs a target: an id, a name, a namespace or 'all'");
  Client client = Client::connect(home);
  nlohmann::json params = {{"targets", targets}};
  if (update_env) {
    nlohmann::json env = nlohmann::json::object();
    for (char** e = environ; *e; ++e) {
      std::string entry = *e;
      auto eq = entry.find('=');
      if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    params["env"] = env;
  }
  client.call(method, params);
  print_list(client);
  return 0;
}

int cmd_resurrect(const HomeLayout& home) {
  auto dump = daemon::read_dump_file(home.dump());
  if (!dump.ok()) throw UserError(dump.error().message());
  Client client = Client::connect(home);
  std::set<std::string> present;
  for (const auto& p : client.call("list", {{"full", false}})) present.insert(p.value("name", ""));
  nlohmann::json apps = nlohmann::json::array();
  size_t skipped = 0;
  for (const auto& entry : dump->at("apps")) {
    AppSpec spec = entry.at("spec").get<AppSpec>();
    // Never a duplicate of a running app, and never revive what was stopped when saved.
    if (present.count(spec.name)) {
      ++skipped;
      continue;
    }
    if (!entry.value("running", true)) spec.autostart = false;
    apps.push_back(spec);
  }
  if (!apps.empty()) client.call("start", {{"apps", apps}});
  if (skipped) std::printf("[drove] %zu app(s) already present, left as they are\n", skipped);
  print_list(client);
  return 0;
}

// Splits argv at the first "--": what follows goes to the app untouched.
std::vector<std::string> split_app_args(int& argc, char** argv) {
  std::vector<std::string> rest;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      for (int j = i + 1; j < argc; ++j) rest.emplace_back(argv[j]);
      argc = i;
      break;
    }
  }
  return rest;
}

}  // namespace

int run(int argc, char** argv) {
  std::vector<std::string> app_args = split_app_args(argc, argv);
  CLI::App app{"drove: a process manager for production apps (PM2-compatible)", "drove"};
  app.set_version_flag("-v,--version", DROVE_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);

  std::vector<std::string> positional;
  StartFlags flags;
  auto* start = app.add_subcommand("start", "start a script, an ecosystem file, or an app by name/id");
  start->add_option("targets", positional, "script, ecosystem file, or name/id/namespace");
  start->add_option("-n,--name", flags.name, "app name");
  start->add_option("-i,--instances", flags.instances, "instances: a number, max, 0 (all CPUs) or -n (CPUs minus n)")
      ->allow_extra_args(false);
  start->add_option("--interpreter", flags.interpreter, "interpreter (node, python3, bash, none, a path)");
  start->add_option("--interpreter-args,--node-args", flags.interpreter_args, "arguments for the interpreter");
  start->add_option("--cwd", flags.cwd, "working directory");
  start->add_option("--namespace", flags.namespace_name, "namespace");
  start->add_option("-o,--output", flags.output, "stdout log file");
  start->add_option("-e,--error", flags.error, "stderr log file");
  start->add_flag("--merge-logs", flags.merge_logs, "one log file for all instances");
  start->add_flag("--time", flags.time, "prefix log lines with a timestamp");
  start->add_flag("--no-autorestart", flags.no_autorestart, "do not restart the app when it exits");
  start->add_option("--max-restarts", flags.max_restarts, "unstable restarts before errored (16)");
  start->add_option("--min-uptime", flags.min_uptime, "ms a run must last to be stable (1000)");
  start->add_option("--restart-delay", flags.restart_delay, "ms to wait before a restart (0)");
  start->add_option("--exp-backoff-restart-delay", flags.exp_backoff, "base ms of exponential back-off");
  start->add_option("-k,--kill-timeout", flags.kill_timeout, "ms between the stop signal and SIGKILL (1600)");
  start->add_option("--stop-exit-codes", flags.stop_exit_codes, "exit codes that do not restart");
  start->add_flag("-f,--force", flags.force, "start even if the script already runs");

  std::vector<std::string> targets;
  bool update_env = false;
  auto add_target_command = [&](const std::string& name, const std::string& help) {
    auto* sub = app.add_subcommand(name, help);
    sub->add_option("targets", targets, "ids, names, namespaces or 'all'");
    return sub;
  };
  auto* stop = add_target_command("stop", "stop apps (whole process trees, gracefully)");
  auto* restart = add_target_command("restart", "restart apps (hard)");
  restart->add_flag("-a,--update-env", update_env, "use the current shell environment");
  auto* reload = add_target_command("reload", "zero-downtime rolling reload (cluster apps; fork apps restart)");
  int reload_batch = 1;
  reload->add_option("--batch", reload_batch, "instances replaced at a time (1)")->check(CLI::PositiveNumber);
  auto* del = add_target_command("delete", "stop and forget apps");
  del->alias("del");
  auto* reset = add_target_command("reset", "reset restart counters");
  auto* describe = add_target_command("describe", "everything about an app");
  describe->alias("desc")->alias("info")->alias("show");

  auto* list = app.add_subcommand("list", "list apps");
  list->alias("ls")->alias("l")->alias("ps")->alias("status");
  auto* jlist = app.add_subcommand("jlist", "list apps as JSON (PM2's shape)");
  auto* prettylist = app.add_subcommand("prettylist", "list apps as indented JSON (PM2's shape)");
  auto* kill = app.add_subcommand("kill", "stop every app and the daemon");
  auto* save = app.add_subcommand("save", "save the process list for resurrect (crash-safe)");
  save->alias("dump");
  auto* resurrect = app.add_subcommand("resurrect", "start the saved process list (no duplicates)");
  auto* cleardump = app.add_subcommand("cleardump", "empty the saved process list");
  auto* ping = app.add_subcommand("ping", "start the daemon if needed and check it answers");
  auto* events = app.add_subcommand("events", "stream the daemon's events (JSON lines)");
  auto* daemon_cmd = app.add_subcommand("daemon", "run the daemon in the foreground");
  bool background = false;
  daemon_cmd->add_flag("--background", background)->group("");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    // One line, as for every other error.
    std::fprintf(stderr, "[drove] %s (see drove --help)\n", e.what());
    return 2;
  }

  const HomeLayout home = resolve_home();
  try {
    if (*start) return cmd_start(home, positional, flags, app_args);
    if (*stop) return cmd_targets(home, "stop", targets, false);
    if (*restart) return cmd_targets(home, "restart", targets, update_env);
    if (*del) return cmd_targets(home, "delete", targets, false);
    if (*reload) {
      if (targets.empty()) throw UserError("'reload' needs a target: an id, a name, a namespace or 'all'");
      Client client = Client::connect(home);
      auto r = client.call("reload", {{"targets", targets}, {"batch", reload_batch}});
      for (const auto& notice : r.value("notices", nlohmann::json::array())) {
        std::printf("[drove] %s\n", notice.get<std::string>().c_str());
      }
      print_list(client);
      return 0;
    }
    if (*reset) return cmd_targets(home, "reset", targets, false);
    if (*list) {
      Client client = Client::connect(home);
      print_list(client);
      return 0;
    }
    if (*jlist || *prettylist) {
      Client client = Client::connect(home);
      const auto out = to_pm2_jlist(client.call("list", {{"full", true}}));
      std::puts((*jlist ? out.dump() : out.dump(2)).c_str());
      return 0;
    }
    if (*describe) {
      if (targets.empty()) throw UserError("'describe' needs a target");
      Client client = Client::connect(home);
      for (const auto& p : client.call("describe", {{"targets", targets}})) {
        std::fputs(render_describe(p, stdout_is_tty()).c_str(), stdout);
      }
      return 0;
    }
    if (*kill) {
      auto client = Client::connect_if_running(home);
      if (!client) {
        std::puts("[drove] no daemon running");
        return 0;
      }
      client->call("kill");
      std::puts("[drove] daemon stopped");
      return 0;
    }
    if (*save) {
      Client client = Client::connect(home);
      auto r = client.call("save");
      std::printf("[drove] saved %d app(s) to %s\n", r.value("saved", 0), r.value("path", "").c_str());
      return 0;
    }
    if (*resurrect) return cmd_resurrect(home);
    if (*cleardump) {
      if (auto s = daemon::write_dump_file(home.dump(), {{"version", DROVE_VERSION}, {"apps", nlohmann::json::array()}}); !s.ok()) {
        throw UserError(s.error().message());
      }
      std::puts("[drove] saved process list emptied");
      return 0;
    }
    if (*ping) {
      Client client = Client::connect(home);
      std::puts(client.call("ping").dump().c_str());
      return 0;
    }
    if (*events) {
      Client client = Client::connect(home);
      client.call("subscribe", {{"events", true}});
      std::setvbuf(stdout, nullptr, _IOLBF, 0);
      while (auto message = client.next_message()) std::puts(message->dump().c_str());
      return 0;
    }
    if (*daemon_cmd) return daemon::run_daemon({home, background});
  } catch (const UserError& e) {
    std::fprintf(stderr, "[drove] %s\n", e.what());
    return e.code;
  }
  return 0;
}

}  // namespace drove::cli
