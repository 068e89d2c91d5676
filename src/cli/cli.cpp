#include "cli/cli.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "base/clock.hpp"
#include "base/home_paths.hpp"
#include "base/unique_fd.hpp"
#include "cli/client.hpp"
#include "cli/commands.hpp"
#include "cli/completion.hpp"
#include "cli/inspect.hpp"
#include "cli/monit.hpp"
#include "cli/render.hpp"
#include "cli/secret_mask.hpp"
#include "cli/startup.hpp"

namespace drove::cli {
namespace {

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

bool stdout_is_tty() { return ::isatty(STDOUT_FILENO) == 1; }

// `drove-runtime ARGS` (pm2-runtime's name, installed as a link to drove) is `drove runtime ARGS`.
std::vector<char*> runtime_alias_argv(int argc, char** argv) {
  static char runtime_word[] = "runtime";
  std::vector<char*> out;
  const std::string_view self = argv[0];
  const auto slash = self.rfind('/');
  if (self.substr(slash == std::string_view::npos ? 0 : slash + 1) != "drove-runtime") return out;
  out.push_back(argv[0]);
  out.push_back(runtime_word);
  for (int i = 1; i < argc; ++i) out.push_back(argv[i]);
  out.push_back(nullptr);
  return out;
}

// What `drove runtime` hands to `drove start`: its own words, less the runtime's flags and
// pm2-runtime's optional `start` word. CLI11 has checked them all already.
std::vector<std::string> runtime_start_args(int argc, char** argv, const std::vector<std::string>& targets,
                                            const std::vector<std::string>& app_args) {
  int first = 1;
  while (first < argc && std::string_view(argv[first]) != "runtime") ++first;
  const bool drop_start_word = targets.size() > 1 && targets.front() == "start";
  std::vector<std::string> out;
  bool dropped = false;
  for (int i = first + 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--raw" || word == "--formatted" || word == "--prefix" || word == "--json" ||
        word == "--no-auto-exit") {
      continue;
    }
    if (drop_start_word && !dropped && word == "start") {
      dropped = true;
      continue;
    }
    out.emplace_back(word);
  }
  if (!app_args.empty()) {
    out.emplace_back("--");
    out.insert(out.end(), app_args.begin(), app_args.end());
  }
  return out;
}

// The daemon holds an exclusive lock on drove.pid until it exits: once we can take it, it is
// gone, and the next command will start a fresh one.
void wait_for_daemon_exit(const HomeLayout& home) {
  UniqueFd fd(::open(home.pid_file().c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return;
  const std::int64_t deadline = monotonic_ms() + 30000;
  while (::flock(fd.get(), LOCK_SH | LOCK_NB) != 0) {
    if (monotonic_ms() > deadline) throw UserError("the daemon did not exit within 30 s");
    ::usleep(2000);
  }
}

}  // namespace

int run(int argc, char** argv, const DaemonEntry& daemon) {
  // A daemon that hangs up must be reported in words ("lost the connection..."), not end the
  // CLI with a silent exit 141. Spawned processes get default dispositions back (spawn.cpp).
  ::signal(SIGPIPE, SIG_IGN);
  std::vector<char*> alias = runtime_alias_argv(argc, argv);
  if (!alias.empty()) {
    argc = static_cast<int>(alias.size()) - 1;
    argv = alias.data();
  }
  std::vector<std::string> app_args = split_app_args(argc, argv);
  CLI::App app{"drove: a process manager for production apps (PM2-compatible)", "drove"};
  // The version, and the running daemon's if one runs (never starting one): after an upgrade
  // the old daemon serves until `drove update`.
  app.set_version_flag("-v,--version", [] {
    nlohmann::json ping;
    try {
      if (auto client = Client::connect_if_running(resolve_home())) ping = client->call("ping");
    } catch (const UserError&) {
      // no daemon to ask: this binary's version alone
    }
    std::string text = render_versions(DROVE_VERSION, ping);
    text.pop_back();  // CLI11 ends the line
    return text;
  });
  app.require_subcommand(1);

  std::vector<std::string> args;
  StartOptions start_options;
  auto* start = app.add_subcommand("start", "start a script, an ecosystem file, or an app by name/id");
  start->add_option("targets", args, "script, ecosystem file, or name/id/namespace");
  start_options.add_to(*start);

  int reload_batch = 1;
  auto add_lifecycle = [&](const std::string& name, const std::string& help) {
    auto* sub = app.add_subcommand(name, help);
    sub->add_option("targets", args, "ids, names, namespaces, 'all' or an ecosystem file");
    sub->add_option("--env", start_options.env_name, "environment of the ecosystem file (env_<name>)");
    sub->add_option("--only", start_options.only, "only these apps of the ecosystem file (a,b)");
    sub->add_flag("-a,--update-env", start_options.update_env, "use the current shell environment");
    return sub;
  };
  auto* stop = add_lifecycle("stop", "stop apps (whole process trees, gracefully)");
  auto* restart = add_lifecycle("restart", "restart apps (hard)");
  restart->add_flag("--watch", start_options.toggle_watch, "toggle watching of the apps (as PM2)");
  // PM2's restart/reload with options: the flags given replace the apps' own (each command its
  // own storage: CLI11 binds options to it).
  StartOptions restart_flags, reload_flags;
  restart_flags.add_app_flags_to(*restart, false);
  auto* reload = add_lifecycle("reload", "zero-downtime rolling reload (fork apps restart)");
  reload->add_option("--batch", reload_batch, "instances replaced at a time (1)")->check(CLI::PositiveNumber);
  reload_flags.add_app_flags_to(*reload, false);
  auto* del = add_lifecycle("delete", "stop and forget apps");
  del->alias("del");
  auto* start_or_restart = app.add_subcommand("startOrRestart", "start the file's apps, restart those running");
  start_or_restart->add_option("file", args)->required();
  StartOptions restart_options;  // each command its own: CLI11 binds options to their storage
  restart_options.add_to(*start_or_restart);
  auto* start_or_reload = app.add_subcommand("startOrReload", "start the file's apps, reload those running");
  start_or_reload->add_option("file", args)->required();
  StartOptions reload_options;
  reload_options.add_to(*start_or_reload);

  std::vector<std::string> targets;
  auto* reset = app.add_subcommand("reset", "reset restart counters");
  reset->add_option("targets", targets);
  auto* describe = app.add_subcommand("describe", "everything about an app");
  describe->alias("desc")->alias("info")->alias("show");
  describe->add_option("targets", targets);
  bool mask_secrets = mask_secrets_from_env();
  describe->add_flag("--mask-secrets", mask_secrets,
                     "hide env variables named like secrets (also DROVE_MASK_SECRETS=1)");

  auto* list = app.add_subcommand("list", "list apps");
  list->alias("ls")->alias("l")->alias("ps")->alias("status");
  std::string list_sort;
  list->add_option("--sort", list_sort, "sort by name, id, pid, cpu, memory, restarts or uptime, [:asc|:desc]");
  auto* jlist = app.add_subcommand("jlist", "list apps as JSON (PM2's shape)");
  auto* prettylist = app.add_subcommand("prettylist", "list apps as PM2 prints them (Node's util.inspect of jlist)");
  for (auto* json_list : {jlist, prettylist}) {
    json_list->add_flag("--mask-secrets", mask_secrets,
                        "hide env variables named like secrets (also DROVE_MASK_SECRETS=1)");
  }

  LogsOptions logs_options;
  auto* logs = app.add_subcommand("logs", "show the last lines of the logs, then stream new ones");
  logs->add_option("targets", logs_options.targets, "ids, names, namespaces or 'all' (default)");
  logs->add_option("--lines", logs_options.lines, "lines of each file to show first (15)");
  logs->add_flag("--raw", logs_options.raw, "lines only, no prefix");
  logs->add_flag("--json", logs_options.json, "one JSON object per line");
  logs->add_flag("--err", logs_options.err_only, "stderr only");
  logs->add_flag("--out", logs_options.out_only, "stdout only");
  logs->add_flag("--nostream", logs_options.nostream, "print the last lines and exit");
  logs->add_option("--timestamp", logs_options.timestamp_format, "prefix streamed lines with a timestamp")
      ->expected(0, 1);
  logs->add_option("--highlight", logs_options.highlight, "highlight this text")->expected(0, 1);
  auto* flush = app.add_subcommand("flush", "empty log files");
  flush->add_option("targets", targets);
  auto* reload_logs = app.add_subcommand("reloadLogs", "reopen log files (after an external logrotate)");

  std::string send_target;
  std::vector<std::string> send_words;
  auto* send = app.add_subcommand("send", "write a line to the stdin of an app's processes (fork mode), as PM2");
  send->add_option("target", send_target)->required();
  send->add_option("line", send_words)->required();
  std::string message_target;
  std::vector<std::string> message_words;
  auto* message_cmd =
      app.add_subcommand("message", "send data to an app's process.on('message') (PM2's sendDataToProcessId)");
  message_cmd->alias("msg");
  message_cmd->add_option("target", message_target)->required();
  message_cmd->add_option("data", message_words, "JSON, or text")->required();
  std::string attach_id, attach_separator = "\n";
  auto* attach = app.add_subcommand("attach", "show a process's output and send it the lines typed (its stdin)");
  attach->add_option("id", attach_id, "process id")->required();
  attach->add_option("separator", attach_separator, "appended to each line sent (a newline)");
  std::string trigger_target, trigger_action, trigger_param;
  auto* trigger = app.add_subcommand("trigger", "trigger an action of an app (PM2's {msg} shape)");
  trigger->add_option("target", trigger_target)->required();
  trigger->add_option("action", trigger_action)->required();
  trigger->add_option("param", trigger_param);
  std::string signal_name, signal_target;
  auto* send_signal = app.add_subcommand("sendSignal", "send a signal to apps' main processes");
  send_signal->add_option("signal", signal_name, "SIGUSR2, USR2 or a number")->required();
  send_signal->add_option("target", signal_target, "id, name, namespace, /regex/ or all")->required();
  std::string pid_target;
  auto* pid_cmd = app.add_subcommand("pid", "print the pids of an app (of every app without a name)");
  pid_cmd->add_option("name", pid_target);
  std::string id_name;
  auto* id_cmd = app.add_subcommand("id", "print the ids of an app");
  id_cmd->add_option("name", id_name)->required();
  std::string env_id;
  auto* env_cmd = app.add_subcommand("env", "print a process's environment and settings (pm2_env)");
  env_cmd->add_option("id", env_id)->required();
  std::string scale_name, scale_count;
  auto* scale = app.add_subcommand(
      "scale", "set the number of instances: N, +N or -N (pins an autoscaled app; auto resumes autoscaling)");
  scale->add_option("name", scale_name)->required();
  scale->add_option("count", scale_count)->required();

  auto* save = app.add_subcommand("save", "save the process list for resurrect (crash-safe)");
  save->alias("dump");
  auto* resurrect = app.add_subcommand("resurrect", "start the saved process list (no duplicates)");
  auto* cleardump = app.add_subcommand("cleardump", "empty the saved process list");
  std::string init_path = "ecosystem.config.js";
  auto* init = app.add_subcommand("init", "write a sample ecosystem.config.js");
  init->alias("ecosystem");
  init->add_option("path", init_path);
  auto* kill = app.add_subcommand("kill", "stop every app and the daemon");
  auto* update = app.add_subcommand(
      "update", "hand every app to the drove binary now on disk, none restarted (without a keeper: as PM2)");
  update->alias("updatePM2");
  auto* ping = app.add_subcommand("ping", "start the daemon if needed and check it answers");
  auto* events = app.add_subcommand("events", "stream the daemon's events and apps' messages (JSON lines)");
  auto* metrics = app.add_subcommand("metrics", "the daemon's and the apps' figures, Prometheus text format");
  auto* monit = app.add_subcommand("monit", "terminal dashboard: processes, CPU/memory history, logs, actions");
  monit->alias("dashboard")->alias("dash");
  auto* web = app.add_subcommand("web", "print the web dashboard's URL with its token (DROVE_METRICS_ADDR)");
  StartupOptions startup_options;
  auto add_startup = [&](const std::string& name, const std::string& help) {
    auto* sub = app.add_subcommand(name, help);
    sub->add_option("platform", startup_options.platform, "init system: systemd (detected when left out)");
    sub->add_option("-u,--user", startup_options.user, "the user the daemon and its apps run as (default: you)");
    sub->add_option("--hp", startup_options.home_path, "that user's home (DROVE_HOME is <hp>/.drove)");
    sub->add_option("--service-name", startup_options.service_name, "the unit's name (default: drove-<user>)");
    sub->add_flag("--dry-run", startup_options.dry_run, "print the unit and the commands, change nothing");
    return sub;
  };
  auto* startup = add_startup("startup", "start the daemon and the saved list at boot (a systemd unit)");
  startup->add_option("--watchdog-sec", startup_options.watchdog_sec, "systemd restarts a daemon silent this long");
  startup->add_option("--timeout-stop-sec", startup_options.timeout_stop_sec,
                      "how long systemd lets the daemon stop every app (default 60)");
  auto* unstartup = add_startup("unstartup", "remove the unit that `drove startup` installed");
  std::string completion_shell;
  bool completion_list_apps = false;
  auto* completion = app.add_subcommand("completion", "print a bash or zsh completion script (from this CLI)");
  completion->add_option("shell", completion_shell, "bash or zsh")->check(CLI::IsMember({"bash", "zsh"}));
  completion->add_flag("--list-apps", completion_list_apps)->group("");  // the scripts' own helper
  auto* daemon_cmd = app.add_subcommand("daemon", "run the daemon in the foreground");
  bool background = false;
  daemon_cmd->add_flag("--background", background)->group("");
  bool daemon_resurrect = false;
  daemon_cmd->add_flag("--resurrect", daemon_resurrect,
                       "start the saved process list once listening (for init systems: drove startup)");
  bool daemon_keeper = false;
  bool daemon_no_keeper = false;
  int daemon_keeper_fd = -1;
  std::string daemon_check_state;
  daemon_cmd->add_flag("--keeper", daemon_keeper,
                       "run a keeper above the daemon, so that the apps outlive a daemon crash (default in the "
                       "background)");
  daemon_cmd->add_flag("--no-keeper", daemon_no_keeper, "no keeper: the apps end with the daemon");
  daemon_cmd->add_option("--keeper-fd", daemon_keeper_fd)->group("");
  daemon_cmd->add_option("--check-state", daemon_check_state)->group("");

  auto* runtime = app.add_subcommand(
      "runtime", "run apps in the foreground, logs to stdout: a container's entrypoint (also drove-runtime)");
  std::vector<std::string> runtime_targets;
  runtime
      ->add_option("targets", runtime_targets, "an ecosystem file or a script (pm2-runtime's `start` may precede it)")
      ->required();
  StartOptions runtime_options;  // checked here, handed to `drove start` as written
  runtime_options.add_to(*runtime);
  bool runtime_raw = false;
  bool runtime_prefixed = false;
  bool runtime_json = false;
  bool runtime_no_auto_exit = false;
  auto* raw_flag = runtime->add_flag("--raw", runtime_raw, "the apps' lines as they print them (the default)");
  auto* prefix_flag =
      runtime->add_flag("--formatted,--prefix", runtime_prefixed, "prefix each line with '<id>|<name> | '");
  auto* json_flag = runtime->add_flag("--json", runtime_json, "one JSON object per line (message, app_name, ...)");
  raw_flag->excludes(prefix_flag)->excludes(json_flag);
  prefix_flag->excludes(json_flag);
  runtime->add_flag("--no-auto-exit", runtime_no_auto_exit,
                    "keep running when an app errors or every app has ended (default: exit, status 2)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "[drove] %s (see drove --help)\n", e.what());
    return 2;
  }
  if (logs->count_all() > 0 && logs->get_option("--timestamp")->count() > 0) logs_options.timestamp = true;

  const HomeLayout home = resolve_home();
  try {
    if (*start) return cmd_start(home, args, start_options, app_args);
    if (*stop) return cmd_lifecycle(home, "stop", args, start_options, 1);
    if (*restart) return cmd_lifecycle(home, "restart", args, start_options, 1, restart_flags.to_json(app_args));
    if (*reload)
      return cmd_lifecycle(home, "reload", args, start_options, reload_batch, reload_flags.to_json(app_args));
    if (*del) return cmd_lifecycle(home, "delete", args, start_options, 1);
    if (*start_or_restart) return cmd_start_or(home, "startOrRestart", args, restart_options);
    if (*start_or_reload) return cmd_start_or(home, "startOrReload", args, reload_options);
    if (*reset || *flush || *describe) {
      if (targets.empty() && !*flush)
        throw UserError("this command needs a target: an id, a name, a namespace or 'all'");
      Client client = Client::connect(home);
      if (*describe) {
        auto described = client.call("describe", {{"targets", targets}});
        if (mask_secrets) mask_secret_env(described, secret_patterns_from_env());
        for (const auto& p : described) {
          std::fputs(render_describe(p, stdout_is_tty()).c_str(), stdout);
        }
        return 0;
      }
      client.call(*reset ? "reset" : "flush",
                  {{"targets", targets.empty() ? std::vector<std::string>{"all"} : targets}});
      if (*flush)
        std::puts("[drove] logs flushed");
      else
        print_list(client);
      return 0;
    }
    if (*list) {
      Client client = Client::connect(home);
      print_list(client, list_sort);
      return 0;
    }
    if (*send_signal) return cmd_send_signal(home, signal_name, signal_target);
    if (*pid_cmd) return cmd_pid(home, pid_target);
    if (*id_cmd) return cmd_id(home, id_name);
    if (*env_cmd) return cmd_env(home, env_id);
    if (*jlist || *prettylist) {
      Client client = Client::connect(home);
      auto reply = client.call("list", {{"full", true}, {"shared", true}});
      if (mask_secrets && reply.contains("apps")) mask_secret_env(reply["apps"], secret_patterns_from_env());
      std::string out = pm2_jlist_text(reply);
      if (*prettylist) {
        // PM2 prints util.inspect(list) with no newline after it.
        out = node_inspect(nlohmann::ordered_json::parse(out));
      } else {
        out += '\n';
      }
      std::fwrite(out.data(), 1, out.size(), stdout);
      return 0;
    }
    if (*logs) return cmd_logs(home, logs_options);
    if (*reload_logs) {
      Client client = Client::connect(home);
      client.call("reloadLogs");
      std::puts("[drove] log files reopened");
      return 0;
    }
    if (*send) return cmd_send(home, send_target, send_words);
    if (*message_cmd) return cmd_message(home, message_target, message_words);
    if (*attach) return cmd_attach(home, attach_id, attach_separator);
    if (*trigger) return cmd_trigger(home, trigger_target, trigger_action, trigger_param);
    if (*scale) return cmd_scale(home, scale_name, scale_count);
    if (*save) {
      Client client = Client::connect(home);
      auto r = client.call("save");
      std::printf("[drove] saved %d app(s) to %s\n", r.value("saved", 0), r.value("path", "").c_str());
      return 0;
    }
    if (*resurrect) return cmd_resurrect(home);
    if (*cleardump) {
      // The daemon owns the file: its writer orders this with any save in flight.
      Client client = Client::connect(home);
      client.call("cleardump");
      std::puts("[drove] saved process list emptied");
      return 0;
    }
    if (*init) return cmd_init(init_path);
    if (*kill) {
      auto client = Client::connect_if_running(home);
      if (!client) {
        std::puts("[drove] no daemon running");
        return 0;
      }
      client->call("kill");
      wait_for_daemon_exit(home);
      std::puts("[drove] daemon stopped");
      return 0;
    }
    if (*update) {
      // Under a keeper (the default), the daemon hands everything to the binary on disk and no
      // app restarts (docs/operations.md, "Upgrading drove").
      if (auto client = Client::connect_if_running(home)) {
        const auto before = client->call("ping");
        if (before.contains("keeper") && before["keeper"].is_object() && before["keeper"].value("connected", false)) {
          const int old_pid = before.value("pid", 0);
          const auto old_list = client->call("list");
          // As `pm2 update`: the saved list is the running one afterwards.
          auto saved = client->call("save");
          std::printf("[drove] saved %d app(s) to %s\n", saved.value("saved", 0), saved.value("path", "").c_str());
          client->call("update");  // an error (the binary on disk cannot take over) throws: one line, exit 1
          client.reset();
          const std::int64_t deadline = monotonic_ms() + 30000;
          for (;;) {
            // The old daemon may still answer for a moment, or hang up mid-call: ask again.
            std::optional<Client> next;
            nlohmann::json after;
            try {
              next = Client::connect_if_running(home);
              if (next) after = next->call("ping");
            } catch (const UserError&) {
              next.reset();
            }
            if (next) {
              if (after.value("pid", 0) != old_pid) {
                const auto new_list = next->call("list");
                std::size_t kept = 0, total = 0;
                auto rows = [](const nlohmann::json& reply) {
                  return reply.is_array() ? reply : reply.value("processes", nlohmann::json::array());
                };
                for (const auto& p : rows(old_list)) {
                  if (p.value("pid", 0) == 0) continue;
                  ++total;
                  for (const auto& q : rows(new_list))
                    if (q.value("id", -1) == p.value("id", -2) && q.value("pid", 0) == p.value("pid", 0)) ++kept;
                }
                std::printf(
                    "[drove] daemon updated: pid %d -> %d, drove %s -> %s; %zu of %zu running process(es) kept\n",
                    old_pid, after.value("pid", 0), before.value("version", "?").c_str(),
                    after.value("version", "?").c_str(), kept, total);
                return kept == total ? 0 : 1;
              }
            }
            if (monotonic_ms() > deadline) throw UserError("the new daemon did not answer within 30 s (see drove.log)");
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
        }
      }
      // PM2's update: save the list, stop the old daemon (its apps with it), let this binary
      // start the new one, resurrect. Apps restart.
      std::string old_version = "none";
      if (auto client = Client::connect_if_running(home)) {
        old_version = client->call("ping").value("version", "?");
        auto saved = client->call("save");
        std::printf("[drove] saved %d app(s) to %s\n", saved.value("saved", 0), saved.value("path", "").c_str());
        client->call("kill");
        wait_for_daemon_exit(home);
      }
      {
        Client client = Client::connect(home);  // starts this binary's daemon
        std::printf("[drove] daemon replaced: %s -> %s\n", old_version.c_str(),
                    client.call("ping").value("version", "?").c_str());
      }
      return cmd_resurrect(home);
    }
    if (*ping) {
      Client client = Client::connect(home);
      auto reply = client.call("ping");
      reply["cli_version"] = DROVE_VERSION;  // the client warned on stderr if they differ
      std::puts(reply.dump().c_str());
      return 0;
    }
    if (*monit) return cmd_monit(home);
    if (*web) return cmd_web(home);
    if (*metrics) {
      Client client = Client::connect(home);
      const std::string text = client.call("metrics").value("text", "");
      std::fwrite(text.data(), 1, text.size(), stdout);
      return 0;
    }
    if (*events) {
      Client client = Client::connect(home);
      client.call("subscribe", {{"events", true}});
      std::setvbuf(stdout, nullptr, _IOLBF, 0);
      while (auto message = client.next_message()) {
        std::puts(message->dump().c_str());
        if (std::ferror(stdout)) return 0;  // our reader went away
      }
      std::fprintf(stderr, "[drove] the event stream ended: the daemon closed the connection\n");
      return 1;
    }
    if (*completion) return cmd_completion(app, home, completion_shell, completion_list_apps);
    if (*daemon_cmd) {
      return daemon.run({.home = home,
                         .background = background,
                         .resurrect = daemon_resurrect,
                         .runtime = {},
                         .keeper = daemon_keeper,
                         .no_keeper = daemon_no_keeper,
                         .keeper_fd = daemon_keeper_fd,
                         .check_state = daemon_check_state});
    }
    if (*runtime) {
      RuntimeRequest request{.start_args = runtime_start_args(argc, argv, runtime_targets, app_args),
                             .style = runtime_json       ? RuntimeRequest::Style::json
                                      : runtime_prefixed ? RuntimeRequest::Style::prefixed
                                                         : RuntimeRequest::Style::raw,
                             .auto_exit = !runtime_no_auto_exit};
      return daemon.run({.home = home, .runtime = std::move(request)});
    }
    if (*startup) return cmd_startup(startup_options);
    if (*unstartup) return cmd_unstartup(startup_options);
  } catch (const UserError& e) {
    std::fprintf(stderr, "[drove] %s\n", e.what());
    return e.code;
  }
  return 0;
}

}  // namespace drove::cli
