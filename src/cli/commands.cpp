#include "cli/commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "cli/client.hpp"
#include "cli/render.hpp"
#include "config/ecosystem.hpp"
#include "config/json_document.hpp"
#include "config/pm2_dump.hpp"
#include "config/sample_ecosystem.hpp"
#include "config/spec_patch.hpp"
#include "state/dump.hpp"

extern char** environ;

namespace drove::cli {
namespace {

std::map<std::string, std::string> shell_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

config::LoadContext load_context(const StartOptions& options) {
  config::LoadContext ctx;
  ctx.cwd = std::filesystem::current_path().string();
  ctx.shell_env = shell_environment();
  ctx.env_name = options.env_name;
  ctx.cpu_count = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return ctx;
}

void print_warnings(const config::Loaded& loaded) {
  // Once each: a flag applied to every app of a file would otherwise repeat its warning.
  std::set<std::string> said;
  for (const auto& w : loaded.warnings) {
    if (said.insert(w.str()).second) std::fprintf(stderr, "[drove] warning: %s\n", w.str().c_str());
  }
}

// Loads an ecosystem file (or stdin), turning its error into a one-line UserError.
config::Loaded load_file(const std::string& path, const StartOptions& options, const nlohmann::json& overrides) {
  try {
    auto loaded = config::load_ecosystem(path, overrides, load_context(options), options.only_list());
    print_warnings(loaded);
    return loaded;
  } catch (const config::ConfigError& e) {
    throw UserError(e.what());
  }
}

bool is_ecosystem_target(const std::string& arg) {
  return config::looks_like_ecosystem_file(arg) && (arg == "-" || std::filesystem::exists(arg));
}

std::set<std::string> running_names(Client& client) {
  std::set<std::string> names;
  for (const auto& p : client.call("list", {{"full", false}})) names.insert(p.value("name", ""));
  return names;
}

// An ecosystem file's apps for `restart`/`reload`/`start`/`startOr*`, split as PM2's _startJson
// splits them: those the daemon has are cycled with the file's options, the variables the file
// declares laid over their environment; the others are started.
struct FileApps {
  nlohmann::json names = nlohmann::json::array();
  nlohmann::json specs = nlohmann::json::array();
  nlohmann::json declared_envs = nlohmann::json::object();
  std::vector<AppSpec> to_start;

  void add(config::Loaded loaded, const std::set<std::string>& present) {
    for (auto& spec : loaded.apps) {
      if (!present.count(spec.name)) {
        to_start.push_back(std::move(spec));
        continue;
      }
      names.push_back(spec.name);
      declared_envs[spec.name] = loaded.declared_env[spec.name];
      specs.push_back(std::move(spec));
    }
  }
  // The restart/reload of the apps that exist (none: nothing to do).
  void cycle(Client& client, const std::string& verb, bool update_env) const {
    if (names.empty()) return;
    nlohmann::json params = {{"targets", names}, {"specs", specs}, {"declared_envs", declared_envs}};
    if (update_env) params["env"] = shell_environment();
    client.call(verb, params);
  }
};

void start_specs(Client& client, const std::vector<AppSpec>& specs) {
  if (!specs.empty()) client.call("start", {{"apps", specs}, {"wait_ready", true}});
}

}  // namespace

void print_list(Client& client, const std::string& sort) {
  auto processes = client.call("list", {{"full", false}});
  if (!sort.empty()) {
    // PM2's `list --sort <field>[:asc|desc]`: name, id (pm_id), pid, cpu, memory, restarts, uptime.
    const auto colon = sort.find(':');
    const std::string field = sort.substr(0, colon);
    const std::string order = colon == std::string::npos ? "asc" : sort.substr(colon + 1);
    static const std::map<std::string, std::string> keys = {
        {"name", "name"},        {"id", "id"},         {"pm_id", "id"},   {"pid", "pid"},
        {"cpu", "cpu"},          {"memory", "memory"}, {"mem", "memory"}, {"restarts", "restart_time"},
        {"uptime", "started_at"}};
    const auto key = keys.find(field);
    if (key == keys.end())
      throw UserError("--sort " + sort + ": unknown field '" + field +
                      "' (name, id, pid, cpu, memory, restarts, uptime)");
    if (order != "asc" && order != "desc") throw UserError("--sort " + sort + ": order must be asc or desc");
    std::vector<nlohmann::json> rows(processes.begin(), processes.end());
    std::stable_sort(rows.begin(), rows.end(), [&](const nlohmann::json& a, const nlohmann::json& b) {
      const auto& x = a.value(key->second, nlohmann::json());
      const auto& y = b.value(key->second, nlohmann::json());
      return order == "desc" ? y < x : x < y;
    });
    processes = rows;
  }
  std::fputs(render_table(processes, ::isatty(STDOUT_FILENO) == 1).c_str(), stdout);
}

// PM2's sendSignal: the signal to each target's main process.
int cmd_send_signal(const HomeLayout& home, const std::string& signal, const std::string& target) {
  Client client = Client::connect(home);
  auto r = client.call("signal",
                       {{"targets", {target}}, {"signal", signal}, {"cwd", std::filesystem::current_path().string()}});
  for (const auto& id : r.value("ids", nlohmann::json::array())) {
    std::printf("[drove] %s sent to process %d\n", r.value("signal", signal).c_str(), id.get<int>());
  }
  return 0;
}

// PM2's `pid [app]`: one pid per line (0 for a process that is not running), every app's
// without a name. Unlike PM2 (which prints an empty line), a name that matches nothing is an
// error, so a script cannot mistake a typo for a stopped app.
int cmd_pid(const HomeLayout& home, const std::string& target) {
  Client client = Client::connect(home);
  auto processes = client.call("list", {{"full", false}});
  std::string out;
  bool found = false;
  for (const auto& p : processes) {
    if (!target.empty() && p.value("name", "") != target) continue;
    found = true;
    out += std::to_string(p.value("pid", 0)) + "\n";
  }
  if (!target.empty() && !found) throw UserError("app '" + target + "' not found");
  std::fputs(out.c_str(), stdout);
  return 0;
}

// PM2's `id <name>`: the app's pm_ids as Node prints an array ("[ 0, 1 ]", "[]" for none).
int cmd_id(const HomeLayout& home, const std::string& name) {
  Client client = Client::connect(home);
  std::vector<int> ids;
  for (const auto& p : client.call("list", {{"full", false}})) {
    if (p.value("name", "") == name) ids.push_back(p.value("id", 0));
  }
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i)
    out += (i ? ", " : " ") + std::to_string(ids[i]) + (i + 1 == ids.size() ? " " : "");
  std::printf("%s]\n", out.c_str());
  return 0;
}

// PM2's `env <id>`: the process's pm2_env, one "key: value" per line (objects as JSON).
int cmd_env(const HomeLayout& home, const std::string& id) {
  if (id.empty() || !std::all_of(id.begin(), id.end(), ::isdigit))
    throw UserError("'env' needs a process id (a number), got '" + id + "'");
  Client client = Client::connect(home);
  const auto jlist = to_pm2_jlist(client.call("list", {{"full", true}, {"shared", true}}));
  for (const auto& p : jlist) {
    if (std::to_string(p.value("pm_id", -1)) != id) continue;
    for (const auto& [key, value] : p["pm2_env"].items()) {
      std::printf("%s: %s\n", key.c_str(), value.is_string() ? value.get<std::string>().c_str() : value.dump().c_str());
    }
    return 0;
  }
  throw UserError("process " + id + " not found");
}

// The specs of one script target, with PM2's CLI rule for -i (cluster mode for a Node script).
std::vector<AppSpec> specs_of_script(const std::string& target, const StartOptions& options,
                                     const nlohmann::json& flags,
                                     std::map<std::string, std::map<std::string, std::string>>* declared = nullptr) {
  try {
    auto loaded = config::app_from_script(target, flags, load_context(options));
    const bool node = !loaded.apps.empty() && loaded.apps.front().interpreter == "node";
    if (node && options.instances_mean_cluster() && loaded.apps.front().exec_mode != ExecMode::cluster) {
      nlohmann::json cluster = flags;
      cluster["exec_mode"] = "cluster";
      loaded = config::app_from_script(target, cluster, load_context(options));
    }
    print_warnings(loaded);
    if (declared) *declared = std::move(loaded.declared_env);
    return loaded.apps;
  } catch (const config::ConfigError& e) {
    throw UserError(e.what());
  }
}

bool looks_like_script(const std::string& target) {
  return std::filesystem::exists(target) || target.find('/') != std::string::npos ||
         target.find('.') != std::string::npos || target.find(' ') != std::string::npos;
}

// Smart start, as PM2 7's _startScript and _startJson: `start <name|id>` restarts the app (starts
// it if stopped); `start <script>` of a stopped app restarts it with the options given, of a
// running one is refused unless -f, which adds it again under the same name; `start <file>`
// restarts the file's apps that exist with the file's options and starts the others.
int cmd_start(const HomeLayout& home, const std::vector<std::string>& args, const StartOptions& options,
              const std::vector<std::string>& app_args) {
  std::vector<std::string> targets = args;
  if (targets.empty()) {
    // PM2: `start` alone starts ./ecosystem.config.js.
    for (const char* candidate : {"ecosystem.config.js", "ecosystem.config.cjs", "ecosystem.config.mjs",
                                  "ecosystem.json", "ecosystem.yml", "ecosystem.yaml"}) {
      if (std::filesystem::exists(candidate)) {
        targets.push_back(candidate);
        break;
      }
    }
    if (targets.empty()) throw UserError("nothing to start: no script given and no ecosystem.config.js here");
  }
  const nlohmann::json flags = options.to_json(app_args);
  const bool force = flags.value("force", false);
  Client client = Client::connect(home);
  std::map<std::string, bool> present;  // app name → whether any of its processes runs
  for (const auto& p : client.call("list", {{"full", false}})) {
    const std::string status = p.value("status", "");
    present[p.value("name", "")] |= status != "stopped" && status != "errored";
  }
  std::vector<AppSpec> specs;                               // new apps
  std::vector<AppSpec> replacements;                        // existing apps restarted with the options given
  std::vector<std::string> existing;                        // names, ids, namespaces of apps the daemon knows
  nlohmann::json declared_envs = nlohmann::json::object();  // of the replacements
  for (const auto& target : targets) {
    std::vector<AppSpec> loaded;
    std::map<std::string, std::map<std::string, std::string>> declared;
    if (is_ecosystem_target(target)) {
      auto file = load_file(target, options, flags);
      loaded = std::move(file.apps);
      declared = std::move(file.declared_env);
    } else if (looks_like_script(target)) {
      loaded = specs_of_script(target, options, flags, &declared);
    } else {
      existing.push_back(target);
      continue;
    }
    const bool script = !is_ecosystem_target(target);
    for (auto& spec : loaded) {
      const auto it = present.find(spec.name);
      if (it == present.end() || (script && force)) {
        specs.push_back(std::move(spec));
      } else if (script && it->second) {
        // PM2 7 refuses this too (same words): restarting it is `restart`, a second copy is -f.
        throw UserError("an app named '" + spec.name +
                        "' already exists and runs: add -f option to force re-execution " +
                        "(another app under that name), or use restart");
      } else {
        declared_envs[spec.name] = declared[spec.name];
        replacements.push_back(std::move(spec));  // a stopped app, or an ecosystem file's app
      }
    }
  }
  if (!existing.empty()) {
    // `start <name|id>`: restart it (which starts it when stopped). A word that names no app
    // may be a program in PATH (`start ls`), as under PM2.
    std::vector<std::string> known;
    for (const auto& target : existing) {
      try {
        client.call("describe", {{"targets", {target}}});
        known.push_back(target);
      } catch (const UserError&) {
        std::vector<AppSpec> from_path;
        try {
          from_path = specs_of_script(target, options, flags);
        } catch (const UserError&) {
          throw UserError("script or app not found: " + target);
        }
        for (auto& spec : from_path) specs.push_back(std::move(spec));
      }
    }
    if (!known.empty()) client.call("restart", {{"targets", known}});
  }
  if (!replacements.empty()) {
    nlohmann::json names = nlohmann::json::array();
    for (const auto& spec : replacements) names.push_back(spec.name);
    client.call("restart", {{"targets", names}, {"specs", replacements}, {"declared_envs", declared_envs}});
  }
  if (!specs.empty()) {
    auto result = client.call("start", {{"apps", specs}, {"wait_ready", true}, {"force", force}});
    for (const auto& p : result.value("processes", nlohmann::json::array())) {
      if (!p.value("last_error", "").empty()) {
        std::fprintf(stderr, "[drove] %s (id %d): %s\n", p.value("name", "").c_str(), p.value("id", 0),
                     p.value("last_error", "").c_str());
      }
    }
    for (const auto& p : result.value("processes", nlohmann::json::array())) {
      if (p.value("status", "") == "errored") {
        print_list(client);
        throw UserError("'" + p.value("name", "") + "' failed to start: " + p.value("last_error", ""));
      }
    }
  }
  print_list(client);
  return 0;
}

// PM2's restart/reload with options (`restart app --node-args=...`): the apps the targets name,
// each with the flags laid over its own options (config::patch_spec), added to `params`.
void add_patched_specs(Client& client, const std::vector<std::string>& targets, const nlohmann::json& app_flags,
                       const std::string& cwd, nlohmann::json& params) {
  std::set<std::string> names;
  for (const auto& p : client.call("describe", {{"targets", targets}, {"cwd", cwd}})) names.insert(p.value("name", ""));
  if (app_flags.contains("name") && names.size() > 1) {
    throw UserError("--name renames one app, and these targets name " + std::to_string(names.size()));
  }
  const auto shared = client.call("list", {{"full", true}, {"shared", true}});
  const auto context = load_context(StartOptions{});
  for (const auto& app : shared.value("apps", nlohmann::json::array())) {
    AppSpec current = app.at("spec").get<AppSpec>();
    if (!names.erase(current.name)) continue;  // another app, or a second one of that name (-f)
    config::PatchedSpec patched;
    try {
      std::vector<config::Diagnostic> warnings;
      patched = config::patch_spec(current, app_flags, context, warnings);
      print_warnings(config::Loaded{{}, {}, std::move(warnings)});
    } catch (const config::ConfigError& e) {
      throw UserError(e.what());
    }
    // PM2's `restart app --name new` renames it: the daemon renames first, then applies.
    if (patched.spec.name != current.name) params["renames"][current.name] = patched.spec.name;
    params["declared_envs"][patched.spec.name] = patched.declared_env;
    params["specs"].push_back(std::move(patched.spec));
  }
}

int cmd_lifecycle(const HomeLayout& home, const std::string& verb, const std::vector<std::string>& args,
                  const StartOptions& options, int batch, const nlohmann::json& app_flags) {
  if (args.empty())
    throw UserError("'" + verb + "' needs a target: an id, a name, a namespace, 'all' or an ecosystem file");
  const bool cycles = verb == "restart" || verb == "reload";
  std::vector<std::string> targets;
  std::vector<std::string> files;
  for (const auto& arg : args) (is_ecosystem_target(arg) ? files : targets).push_back(arg);
  Client client = Client::connect(home);
  FileApps file_apps;
  if (!files.empty()) {
    const auto present = running_names(client);
    for (const auto& file : files) {
      auto loaded = load_file(file, options, nlohmann::json::object());
      if (cycles) {
        // PM2: the file is read again (options, env, --env) and its missing apps start.
        file_apps.add(std::move(loaded), present);
      } else {
        for (const auto& spec : loaded.apps) targets.push_back(spec.name);
      }
    }
    if (targets.empty() && file_apps.names.empty()) {
      // Nothing of the file runs yet: restart/reload start it, as PM2 does.
      start_specs(client, file_apps.to_start);
      print_list(client);
      return 0;
    }
  }
  // `stop echo.js`: a script path is resolved against our cwd (PM2's path.resolve(name)).
  const std::string cwd = std::filesystem::current_path().string();
  nlohmann::json params = {{"targets", targets},
                           {"cwd", cwd},
                           {"specs", nlohmann::json::array()},
                           {"declared_envs", nlohmann::json::object()}};
  if (cycles && config::has_patch_options(app_flags)) {
    if (!files.empty())
      throw UserError("'" + verb + "' of an ecosystem file takes its options from the file, not from flags");
    add_patched_specs(client, targets, app_flags, cwd, params);
  }
  if (cycles && !file_apps.names.empty()) {
    for (const auto& name : file_apps.names) params["targets"].push_back(name);
    params["specs"] = file_apps.specs;
    params["declared_envs"] = file_apps.declared_envs;
  }
  if (params["specs"].empty()) params.erase("specs");
  if (options.update_env) params["env"] = shell_environment();
  if (verb == "reload") params["batch"] = batch;
  if (options.toggle_watch) params["toggle_watch"] = true;
  auto result = client.call(verb, params);
  for (const auto& notice : result.value("notices", nlohmann::json::array())) {
    if (notice.is_string() && !notice.get<std::string>().empty()) {
      std::printf("[drove] %s\n", notice.get<std::string>().c_str());
    }
  }
  start_specs(client, file_apps.to_start);
  print_list(client);
  return 0;
}

int cmd_start_or(const HomeLayout& home, const std::string& verb, const std::vector<std::string>& args,
                 const StartOptions& options) {
  if (args.size() != 1 || !is_ecosystem_target(args[0])) throw UserError("'" + verb + "' needs one ecosystem file");
  auto loaded = load_file(args[0], options, options.to_json({}));
  Client client = Client::connect(home);
  FileApps file_apps;
  file_apps.add(std::move(loaded), running_names(client));
  file_apps.cycle(client, verb == "startOrReload" ? "reload" : "restart", options.update_env);
  start_specs(client, file_apps.to_start);
  print_list(client);
  return 0;
}

// The specs of a dump PM2 wrote (an array of pm2_env objects), through the ecosystem loader.
std::vector<AppSpec> specs_of_pm2_dump(const state::LoadedDump& dump) {
  std::printf("[drove] reading PM2's process list \"%s\"\n", dump.path.c_str());
  try {
    const nlohmann::json ecosystem = config::pm2_dump_as_ecosystem(dump.dump);
    if (ecosystem["apps"].empty()) return {};  // PM2 saved no app (or only modules)
    const std::string text = ecosystem.dump(2);
    const auto context = load_context(StartOptions{});
    auto loaded = config::load_ecosystem_document(config::parse_json_document(text, dump.path, context.cwd),
                                                  nlohmann::json::object(), context);
    print_warnings(loaded);
    return loaded.apps;
  } catch (const config::ConfigError& e) {
    throw UserError(e.what());
  }
}

int cmd_resurrect(const HomeLayout& home) {
  auto dump = state::read_dump_file(home.dump(), home.legacy_dump());
  if (!dump.ok()) throw UserError(dump.error().message());
  if (!dump->fallback_reason.empty()) {
    std::fprintf(stderr, "[drove] using the backup \"%s\": %s\n", dump->path.c_str(), dump->fallback_reason.c_str());
  }
  // Each saved app with whether it ran; PM2's dump says it through autostart.
  std::vector<std::pair<AppSpec, bool>> saved;
  if (config::is_pm2_dump(dump->dump)) {
    for (auto& spec : specs_of_pm2_dump(*dump)) saved.emplace_back(std::move(spec), true);
  } else {
    for (const auto& entry : dump->dump.at("apps"))
      saved.emplace_back(entry.at("spec").get<AppSpec>(), entry.value("running", true));
  }
  Client client = Client::connect(home);
  const auto present = running_names(client);
  nlohmann::json apps = nlohmann::json::array();
  size_t skipped = 0;
  for (auto& [spec, running] : saved) {
    // Never a duplicate of a running app, and never revive what was stopped when saved.
    if (present.count(spec.name)) {
      ++skipped;
      continue;
    }
    if (!running) spec.autostart = false;
    apps.push_back(spec);
  }
  // force: the saved list may hold several apps under one name (`start -f`).
  if (!apps.empty()) client.call("start", {{"apps", apps}, {"force", true}, {"wait_ready", true}});
  if (skipped) std::printf("[drove] %zu app(s) already present, left as they are\n", skipped);
  print_list(client);
  return 0;
}

int cmd_send(const HomeLayout& home, const std::string& target, const std::vector<std::string>& words) {
  std::string line;
  for (const auto& w : words) line += (line.empty() ? "" : " ") + w;
  Client client = Client::connect(home);
  client.call("send_line", {{"targets", {target}}, {"line", line + "\n"}});
  std::printf("[drove] line sent to the stdin of %s\n", target.c_str());
  return 0;
}

int cmd_attach(const HomeLayout& home, const std::string& id, const std::string& separator) {
  // PM2 wants a process number here, not a name: one process's stdin.
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
    throw UserError("'attach' needs a process id (a number, see `drove list`), got '" + id + "'");
  }
  Client client = Client::connect(home);
  client.call("describe", {{"targets", {id}}});  // an unknown id is an error now, not at the first line
  Client logs = Client::connect(home);
  logs.call("subscribe", {{"logs", true}, {"filter", {{"ids", {std::stoi(id)}}}}});
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  // Its output, as it comes, on a thread of its own; our stdin's lines go to its stdin.
  std::thread printer([&logs] {
    while (auto message = logs.next_message()) {
      if (!message->is_object() || message->value("event", "") != "log") continue;
      const std::string text = message->value("text", "") + "\n";
      if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) return;
    }
  });
  std::string line;
  int c;
  while ((c = std::getchar()) != EOF) {
    if (c != '\n') {
      line.push_back(static_cast<char>(c));
      continue;
    }
    client.call("send_line", {{"targets", {id}}, {"line", line + separator}});
    line.clear();
  }
  if (!line.empty()) client.call("send_line", {{"targets", {id}}, {"line", line + separator}});
  // Our stdin ended (PM2 exits when its readline closes). The printer is blocked reading the
  // stream, which the daemon keeps open: end the process here rather than unwind under it.
  std::fflush(stdout);
  std::_Exit(0);
}

int cmd_message(const HomeLayout& home, const std::string& target, const std::vector<std::string>& words) {
  std::string text;
  for (const auto& w : words) text += (text.empty() ? "" : " ") + w;
  if (text.empty()) throw UserError("'message' needs data: JSON, or text");
  auto data = nlohmann::json::parse(text, nullptr, false);
  if (data.is_discarded()) data = text;  // plain text is sent as a string
  Client client = Client::connect(home);
  // PM2's shape for data sent to a process (sendDataToProcessId).
  client.call("send",
              {{"targets", {target}}, {"message", {{"type", "process:msg"}, {"data", data}, {"topic", "drove"}}}});
  std::printf("[drove] sent to %s\n", target.c_str());
  return 0;
}

int cmd_trigger(const HomeLayout& home, const std::string& target, const std::string& action,
                const std::string& param) {
  Client client = Client::connect(home);
  // PM2 (and @pm2/io's actions) expect {msg: <action>, opts: <param>}.
  nlohmann::json message = {{"msg", action}};
  if (!param.empty()) message["opts"] = param;
  client.call("send", {{"targets", {target}}, {"message", message}});
  std::printf("[drove] action '%s' triggered on %s\n", action.c_str(), target.c_str());
  return 0;
}

int cmd_scale(const HomeLayout& home, const std::string& name, const std::string& count) {
  Client client = Client::connect(home);
  client.call("scale", {{"name", name}, {"count", count}});
  print_list(client);
  return 0;
}

int cmd_init(const std::string& path) {
  auto s = config::write_sample_ecosystem(path);
  if (!s.ok()) throw UserError(s.error().message());
  std::printf("[drove] wrote %s\n", path.c_str());
  return 0;
}

}  // namespace drove::cli
