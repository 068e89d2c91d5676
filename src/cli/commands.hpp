// The CLI's commands: each turns parsed arguments into RPC calls and prints the outcome.
// Errors are UserError: one line on stderr and a non-zero exit (cli.cpp).
#pragma once

#include <string>
#include <vector>

#include "base/home_paths.hpp"
#include "cli/start_options.hpp"

namespace drove::cli {

struct LogsOptions {
  std::vector<std::string> targets;
  size_t lines = 15;
  bool raw = false, json = false, err_only = false, out_only = false, nostream = false;
  bool timestamp = false;
  std::string timestamp_format;
  std::string highlight;
};

int cmd_start(const HomeLayout& home, const std::vector<std::string>& args, const StartOptions& options,
              const std::vector<std::string>& app_args);
// stop, restart, reload, delete: targets are ids, names, namespaces, "all" or ecosystem files.
// `app_flags`: restart/reload's option flags (StartOptions::to_json), applied to the apps cycled.
int cmd_lifecycle(const HomeLayout& home, const std::string& verb, const std::vector<std::string>& args,
                  const StartOptions& options, int batch, const nlohmann::json& app_flags = nlohmann::json::object());
// startOrRestart / startOrReload <file>: what runs is restarted (reloaded), the rest started.
int cmd_start_or(const HomeLayout& home, const std::string& verb, const std::vector<std::string>& args,
                 const StartOptions& options);
int cmd_resurrect(const HomeLayout& home);
int cmd_logs(const HomeLayout& home, const LogsOptions& options);
// `send`: the words, joined by spaces, as one line on the targets' stdin (PM2's sendLineToStdin).
int cmd_send(const HomeLayout& home, const std::string& target, const std::vector<std::string>& words);
// `message`: data (JSON, else text) to process.on('message') in PM2's {type: 'process:msg'} shape.
int cmd_message(const HomeLayout& home, const std::string& target, const std::vector<std::string>& words);
// `attach <id>`: the process's output on our stdout, our stdin's lines on its stdin, until EOF.
int cmd_attach(const HomeLayout& home, const std::string& id, const std::string& separator);
int cmd_trigger(const HomeLayout& home, const std::string& target, const std::string& action, const std::string& param);
int cmd_scale(const HomeLayout& home, const std::string& name, const std::string& count);
// `web`: the web dashboard's URL with its token (web_command.cpp).
int cmd_web(const HomeLayout& home);
int cmd_init(const std::string& path);

int cmd_send_signal(const HomeLayout& home, const std::string& signal, const std::string& target);
int cmd_pid(const HomeLayout& home, const std::string& target);
int cmd_id(const HomeLayout& home, const std::string& name);
int cmd_env(const HomeLayout& home, const std::string& id);

// Prints the process table; `sort` is PM2's `--sort field[:asc|desc]`.
void print_list(class Client& client, const std::string& sort = "");

}  // namespace drove::cli
