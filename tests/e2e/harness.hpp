// The e2e harness: runs the real drove binary against a private $DROVE_HOME, waits for
// conditions with deadlines (never fixed sleeps), and tears down the daemon and every app it
// started, by pid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace drove::e2e {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Polls `condition` every few ms until it holds or `timeout` passes; returns whether it held.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Runs a program to completion, capturing its output.
RunResult run_program(const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra_env = {},
                      const std::string& stdin_text = "");

bool pid_alive(pid_t pid);
// How many descriptors `pid` has open (/proc/<pid>/fd), and its resident set in KiB (-1: gone).
size_t open_fds(pid_t pid);
std::int64_t rss_kib(pid_t pid);
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text, bool executable = false);
std::string fixture(const std::string& relative);  // absolute path under tests/fixtures
// The node_modules scripts/setup.sh installs npm packages into (PM2's @pm2/io): a NODE_PATH.
std::string npm_cache_modules();

// A private drove home: its own daemon, torn down (apps included) when the test ends.
class DroveHome {
 public:
  DroveHome();
  ~DroveHome();
  DroveHome(const DroveHome&) = delete;
  DroveHome& operator=(const DroveHome&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string scratch() const { return path_ + "/scratch"; }  // for test files

  RunResult drove(const std::vector<std::string>& args, const std::map<std::string, std::string>& extra_env = {}) const;
  // `drove jlist`, parsed; fails the test on a non-zero exit.
  nlohmann::json jlist() const;
  // The jlist entries of one app name.
  std::vector<nlohmann::json> processes(const std::string& name) const;
  // Waits until every instance of `name` is online with a pid; returns their pids.
  std::vector<pid_t> wait_online(const std::string& name, size_t count,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(15)) const;
  std::optional<pid_t> daemon_pid() const;
  // Starts tests/fixtures/apps/pm2io_app.js (it uses PM2's @pm2/io from npm_cache_modules())
  // as `name` and waits until it is online; fails the test when @pm2/io is not installed.
  std::vector<pid_t> start_pm2io_app(const std::string& name) const;
  // Starts tests/fixtures/apps/pid_server.js (answers "pid N") in cluster mode as "web" with 2
  // instances on `port` (and `env`) and waits until both are online; returns their pids.
  std::vector<pid_t> start_web(int port, std::map<std::string, std::string> env = {}) const;

 private:
  std::string path_;
};

// Opens a TCP connection to 127.0.0.1:port, sends `request`, returns everything read until EOF
// (or "" when the connection failed).
std::string http_get(int port, const std::string& path = "/", bool* connect_failed = nullptr);
// The same with a whole request of the caller's (method, headers, body), sent as given.
std::string http_exchange(int port, const std::string& request, bool* connect_failed = nullptr);
int free_tcp_port();
// An HTTP/1.1 response's body, and whether its status line says `status`.
std::string body_of(const std::string& response);
bool status_is(const std::string& response, int status);

}  // namespace drove::e2e
