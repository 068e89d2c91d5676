#include "cli/commands.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "cli/client.hpp"
#include "cli/render.hpp"
#include "config/ecosystem.hpp"
#include "config/sample_ecosystem.hpp"
#include "daemon/dump.hpp"

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

}  // namespace

void print_list(Client& client) {
  std::fputs(render_table(client.call("list", {{"full", false}}), ::isatty(STDOUT_FILENO) == 1).c_str(), stdout);
}

int cmd_start(const HomeLayout& home, const std::vector<std::string>& args, const StartOptions& options,
              const std::vector<std::string>& app_args) {
  std::vector<std::string> targets = args;
  if (targets.empty()) {
    // PM2: `start` alone starts ./ecosystem.config.js.
    for (const char* candidate : {"ecosystem.config.js", "ecosystem.config.cjs", "ecosystem.config.mjs", "ecosystem.json",
                                  "ecosystem.yml", "ecosystem.yaml"}) {
      if (std::filesystem::exists(candidate)) {
        targets.push_back(candidate);
        break;
      }
    }
    if (targets.empty()) throw UserError("nothing to start: no script given and no ecosystem.config.js here");
  }
  const nlohmann::json flags = options.to_json(app_args);
  std::vector<AppSpec> specs;
  std::vector<std::string> existing;
  for (const auto& target : targets) {
    if (is_ecosystem_target(target)) {
      auto loaded = load_file(target, options, flags);
      specs.insert(specs.end(), loaded.apps.begin(), loaded.apps.end());
    } else if (std::filesystem::exists(target) || target.find('/') != std::string::npos ||
               target.find('.') != std::string::npos || target.find(' ') != std::string::npos) {
      try {
        auto loaded = config::app_from_script(target, flags, load_context(options));
        print_warnings(loaded);
        specs.insert(specs.end(), loaded.apps.begin(), loaded.apps.end());
      } catch (const config::ConfigError& e) {
        throw UserError(e.what());
      }
    } else {
      existing.push_back(target);  // the name, id or namespace of an app the daemon knows
    }
  }
  Client client = Client::connect(home);
  if (!existing.empty()) {
    try {
      client.call("start_existing", {{"targets", existing}});
    } catch (const UserError& e) {
      if (existing.size() == 1 && specs.empty()) throw UserError("script or app not found: " + existing.front());
      throw;
    }
  }
  if (!specs.empty()) {
    auto result = client.call("start", {{"apps", specs}, {"wait_ready", true}});
    for (const auto& p : result.value("processes", nlohmann::json::array())) {
      if (!p.value("last_error", "").empty()) {
        std::fprintf(stderr, "[drove] %s (id %d): %s\n", p.value("name", "").c_str(), p.value("id", 0), p.value("last_error", "").c_str());
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

int cmd_lifecycle(const HomeLayout& home, const std::string& verb, const std::vector<std::string>& args,
                  const StartOptions& options, int batch) {
  if (args.empty()) throw UserError("'" + verb + "' needs a target: an id, a name, a namespace, 'all' or an ecosystem file");
  std::vector<std::string> targets;
  nlohmann::json envs = nlohmann::json::object();
  for (const auto& arg : args) {
    if (!is_ecosystem_target(arg)) {
      targets.push_back(arg);
      continue;
    }
    // An ecosystem file: its apps, by name; with --update-env, each gets the file's env.
    for (const auto& spec : load_file(arg, options, nlohmann::json::object()).apps) {
      targets.push_back(spec.name);
      if (options.update_env) envs[spec.name] = spec.env;
    }
  }
  Client client = Client::connect(home);
  nlohmann::json params = {{"targets", targets}};
  if (options.update_env) {
    params["env"] = shell_environment();
    params["envs"] = envs;
  }
  if (verb == "reload") params["batch"] = batch;
  if (options.toggle_watch) params["toggle_watch"] = true;
  auto result = client.call(verb, params);
  for (const auto& notice : result.value("notices", nlohmann::json::array())) {
    if (notice.is_string() && !notice.get<std::string>().empty()) {
      std::printf("[drove] %s\n", notice.get<std::string>().c_str());
    }
  }
  print_list(client);
  return 0;
}

int cmd_start_or(const HomeLayout& home, const std::string& verb, const std::vector<std::string>& args,
                 const StartOptions& options) {
  if (args.size() != 1 || !is_ecosystem_target(args[0])) throw UserError("'" + verb + "' needs one ecosystem file");
  auto loaded = load_file(args[0], options, options.to_json({}));
  Client client = Client::connect(home);
  const auto present = running_names(client);
  std::vector<AppSpec> to_start;
  std::vector<std::string> to_cycle;
  nlohmann::json envs = nlohmann::json::object();
  for (auto& spec : loaded.apps) {
    if (present.count(spec.name)) {
      to_cycle.push_back(spec.name);
      if (options.update_env) envs[spec.name] = spec.env;
    } else {
      to_start.push_back(spec);
    }
  }
  if (!to_cycle.empty()) {
    nlohmann::json params = {{"targets", to_cycle}};
    if (options.update_env) params["envs"] = envs;
    client.call(verb == "startOrReload" ? "reload" : "restart", params);
  }
  if (!to_start.empty()) client.call("start", {{"apps", to_start}});
  print_list(client);
  return 0;
}

int cmd_resurrect(const HomeLayout& home) {
  auto dump = daemon::read_dump_file(home.dump());
  if (!dump.ok()) throw UserError(dump.error().message());
  Client client = Client::connect(home);
  const auto present = running_names(client);
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

int cmd_send(const HomeLayout& home, const std::string& target, const std::vector<std::string>& words) {
  std::string text;
  for (const auto& w : words) text += (text.empty() ? "" : " ") + w;
  if (text.empty()) throw UserError("'send' needs a message: JSON, or text");
  auto data = nlohmann::json::parse(text, nullptr, false);
  if (data.is_discarded()) data = text;  // plain text is sent as a string
  Client client = Client::connect(home);
  // PM2's shape for data sent to a process (sendDataToProcessId).
  client.call("send", {{"targets", {target}}, {"message", {{"type", "process:msg"}, {"data", data}, {"topic", "drove"}}}});
  std::printf("[drove] sent to %s\n", target.c_str());
  return 0;
}

int cmd_trigger(const HomeLayout& home, const std::string& target, const std::string& action, const std::string& param) {
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
