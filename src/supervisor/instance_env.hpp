// What an instance's process is started with: its argv (interpreter, its arguments, the
// script, the app's arguments) and its environment, the variables PM2 sets included.
#pragma once

#include <string>
#include <vector>

#include "config/app_spec.hpp"
#include "supervisor/app_identity.hpp"
#include "supervisor/instance.hpp"

namespace drove::supervisor {

// argv for the app; `file` receives the program to exec (interpreter or the script itself).
// The program and its argv. `node_preload`: drove's Node metrics preload, required first when
// the app asks for node_metrics (empty: not installed; the app runs without it).
std::vector<std::string> instance_argv(const AppSpec& spec, std::string& file, const std::string& node_preload = {});

// "KEY=value" entries: the app's env, then PM2's variables (pm_id, name, NODE_APP_INSTANCE or
// instance_var, exec_mode, pm_*_log_path, ...), the increment_var and PORT. Variables that
// would make a child think it is attached to a parent it is not (NODE_CHANNEL_FD,
// NODE_UNIQUE_ID, LISTEN_*) are removed: the supervisor adds its own where they apply.
// `notify_socket`: NOTIFY_SOCKET for apps that signal readiness with sd_notify (wait_ready,
// not node). An app run as another user (`identity` has a user) gets that user's HOME, USER,
// LOGNAME and SHELL unless its own config sets them; the caller's other variables were already
// narrowed to an allow-list when the config was read (config/app_environment.hpp).
std::vector<std::string> instance_env(const Instance& instance, const Run& run, const std::string& notify_socket,
                                      const AppIdentity& identity = {});

// The sockets a non-Node cluster app gets by socket activation: its `listen` list, or
// `port` on all interfaces. Each has a LISTEN_FDNAMES name.
std::vector<ListenSpec> activation_specs(const AppSpec& spec);

// True when the app runs under node.
bool runs_on_node(const AppSpec& spec);
// True when the app gets Node's IPC channel (process.send, and the cluster protocol in cluster
// mode): Node apps, and apps that say they speak it (`ipc`, e.g. the C++ worker SDK).
bool speaks_node_ipc(const AppSpec& spec);

}  // namespace drove::supervisor
