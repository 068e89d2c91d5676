#include "harness.hpp"

#include <dirent.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "base/unique_fd.hpp"
#include "process/proc_table.hpp"
#include "process/spawn.hpp"

extern char** environ;

namespace drove::e2e {

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

RunResult run_program(const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra_env,
                      const std::string& stdin_text) {
  std::map<std::string, std::string> env_map;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    auto eq = entry.find('=');
    if (eq != std::string::npos) env_map[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : extra_env) env_map[k] = v;
  std::vector<std::string> env;
  for (const auto& [k, v] : env_map) {
    std::string entry = k;
    entry += '=';
    entry += v;
    env.push_back(std::move(entry));
  }

  int out_pipe[2], err_pipe[2], in_pipe[2];
  EXPECT_EQ(::pipe2(out_pipe, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(err_pipe, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(in_pipe, O_CLOEXEC), 0);
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]), err_r(err_pipe[0]), err_w(err_pipe[1]), in_r(in_pipe[0]),
      in_w(in_pipe[1]);
  auto pid = process::spawn({.file = argv[0],
                             .argv = argv,
                             .env = env,
                             .fds = {{0, in_r.get()}, {1, out_w.get()}, {2, err_w.get()}},
                             .new_session = false});
  RunResult result;
  if (!pid.ok()) {
    result.err = pid.error().message();
    return result;
  }
  out_w.reset();
  err_w.reset();
  in_r.reset();
  if (!stdin_text.empty()) {
    ssize_t ignored = ::write(in_w.get(), stdin_text.data(), stdin_text.size());
    (void)ignored;
  }
  in_w.reset();
  pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  int open_streams = 2;
  while (open_streams > 0) {
    if (::poll(fds, 2, 60000) <= 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[65536];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        fds[i].fd = -1;
        --open_streams;
      } else {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  ::waitpid(pid.value(), &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

bool pid_alive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  // A zombie answers kill(0) but is gone for our purposes.
  const std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = text.rfind(')');
  return close == std::string::npos || close + 2 >= text.size() || text[close + 2] != 'Z';
}

size_t open_fds(pid_t pid) {
  size_t n = 0;
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!dir) return 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n;
}

std::int64_t rss_kib(pid_t pid) {
  const std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
  const auto at = status.find("VmRSS:");
  return at == std::string::npos ? -1 : std::stoll(status.substr(at + 6));
}

// With read(2): libstdc++'s filebuf throws (even with no exception mask) when a read fails, as
// a /proc file of a process that just exited does (ESRCH).
std::string read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return "";
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

void write_file(const std::string& path, const std::string& text, bool executable) {
  std::ofstream(path) << text;
  if (executable) ::chmod(path.c_str(), 0755);
}

std::string npm_cache_modules() {
  const char* cache = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const std::string base = cache != nullptr ? cache : home != nullptr ? std::string(home) + "/.cache" : "";
  return base + "/drove/npm/node_modules";
}

std::string fixture(const std::string& relative) { return std::string(DROVE_FIXTURES_DIR) + "/" + relative; }

DroveHome::DroveHome() {
  // Short paths: the control socket's path must fit in sun_path (108 bytes).
  char tmpl[] = "/tmp/drove-e2e-XXXXXX";
  const char* dir = ::mkdtemp(tmpl);
  EXPECT_NE(dir, nullptr);
  path_ = dir ? dir : "/tmp/drove-e2e-failed";
  ::mkdir(scratch().c_str(), 0755);
}

DroveHome::~DroveHome() {
  // A failed test shows the end of its daemon's log: what the daemon saw is often the why.
  if (::testing::Test::HasFailure()) {
    const std::string log = read_file(path_ + "/drove.log");
    // Its warnings and errors from the start (the tail below may not reach back that far)...
    std::string warnings;
    int kept = 0;
    for (size_t at = 0; at < log.size() && kept < 40;) {
      const size_t end = std::min(log.find('\n', at), log.size());
      const std::string_view line(log.data() + at, end - at);
      if (line.find(" WARN ") != std::string_view::npos || line.find(" ERROR ") != std::string_view::npos) {
        warnings.append(line).push_back('\n');
        ++kept;
      }
      at = end + 1;
    }
    if (!warnings.empty()) std::fprintf(stderr, "--- warnings in drove.log ---\n%s---\n", warnings.c_str());
    std::fprintf(stderr, "--- last lines of %s/drove.log ---\n%s\n---\n", path_.c_str(),
                 log.substr(log.size() > 6000 ? log.size() - 6000 : 0).c_str());
    // ...and what the apps wrote on stderr.
    std::error_code ignored;
    for (const auto& file : std::filesystem::directory_iterator(path_ + "/logs", ignored)) {
      const std::string name = file.path().filename().string();
      if (name.find("-error") == std::string::npos) continue;
      const std::string text = read_file(file.path().string());
      if (text.empty()) continue;
      std::fprintf(stderr, "--- %s ---\n%s\n---\n", name.c_str(),
                   text.substr(text.size() > 2000 ? text.size() - 2000 : 0).c_str());
    }
  }
  // Every app the daemon runs, then the daemon itself; by pid, only what this test started.
  std::vector<pid_t> app_pids;
  if (auto daemon = daemon_pid(); daemon && pid_alive(*daemon)) {
    const auto table = process::ProcTable::snapshot();
    // Under a keeper (the default), apps taken back after a crash are the keeper's children.
    pid_t keeper = 0;
    if (auto it = table.entries().find(*daemon); it != table.entries().end()) {
      if (read_file("/proc/" + std::to_string(it->second.ppid) + "/comm") == "drove-keeper\n") keeper = it->second.ppid;
    }
    const pid_t root = keeper ? keeper : *daemon;
    for (const auto& entry : table.tree(root)) {
      if (entry.pid != root && entry.pid != *daemon) app_pids.push_back(entry.pid);
    }
    drove({"kill"});
    if (!wait_until([&] { return !pid_alive(*daemon); }, std::chrono::seconds(10))) ::kill(*daemon, SIGKILL);
    if (keeper && !wait_until([&] { return !pid_alive(keeper); }, std::chrono::seconds(10))) ::kill(keeper, SIGKILL);
  }
  for (pid_t pid : app_pids) {
    if (pid_alive(pid)) ::kill(pid, SIGKILL);
  }
  std::string cmd = "rm -rf '" + path_ + "'";
  int ignored = std::system(cmd.c_str());
  (void)ignored;
}

RunResult DroveHome::drove(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& extra_env) const {
  std::vector<std::string> argv = {DROVE_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  auto env = extra_env;
  env["DROVE_HOME"] = path_;
  return run_program(argv, env);
}

nlohmann::json DroveHome::jlist() const {
  auto r = drove({"jlist"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json::array() : j;
}

std::vector<nlohmann::json> DroveHome::processes(const std::string& name) const {
  std::vector<nlohmann::json> out;
  for (const auto& p : jlist()) {
    if (p.value("name", "") == name) out.push_back(p);
  }
  return out;
}

std::vector<pid_t> DroveHome::wait_online(const std::string& name, size_t count,
                                          std::chrono::milliseconds timeout) const {
  std::vector<pid_t> pids;
  wait_until(
      [&] {
        pids.clear();
        for (const auto& p : processes(name)) {
          if (p["pm2_env"].value("status", "") == "online" && p.value("pid", 0) > 0) pids.push_back(p.value("pid", 0));
        }
        return pids.size() == count;
      },
      timeout);
  EXPECT_EQ(pids.size(), count) << "instances of '" << name << "' online: " << jlist().dump();
  return pids;
}

std::vector<pid_t> DroveHome::start_pm2io_app(const std::string& name) const {
  const std::string node_path = npm_cache_modules();
  EXPECT_EQ(::access((node_path + "/@pm2/io/package.json").c_str(), R_OK), 0)
      << "@pm2/io is not installed under " << node_path << ": run scripts/setup.sh";
  const auto r = drove({"start", fixture("apps/pm2io_app.js"), "--name", name}, {{"NODE_PATH", node_path}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return wait_online(name, 1);
}

std::vector<pid_t> DroveHome::start_web(int port, std::map<std::string, std::string> env) const {
  env["PORT"] = std::to_string(port);
  const auto r = drove({"start", fixture("apps/pid_server.js"), "--name", "web", "-i", "2"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return wait_online("web", 2);
}

std::optional<pid_t> DroveHome::daemon_pid() const {
  const std::string text = read_file(path_ + "/drove.pid");
  if (text.empty()) return std::nullopt;
  return static_cast<pid_t>(std::atoi(text.c_str()));
}

std::string http_get(int port, const std::string& path, bool* connect_failed) {
  return http_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                       connect_failed);
}

std::string http_exchange(int port, const std::string& request, bool* connect_failed) {
  if (connect_failed) *connect_failed = false;
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (connect_failed) *connect_failed = true;
    return "";
  }
  timeval tv{10, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::write(fd.get(), request.data(), request.size()) != static_cast<ssize_t>(request.size())) return "";
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;) response.append(buf, static_cast<size_t>(n));
  return response;
}

int free_tcp_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  // Port 0 from a failed bind would make a test listen on a random port and wait in vain.
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error(std::string("free_tcp_port: ") + std::strerror(errno));
  }
  return ntohs(addr.sin_port);
}

std::string body_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

bool status_is(const std::string& response, int status) {
  return response.rfind("HTTP/1.1 " + std::to_string(status) + " ", 0) == 0;
}

}  // namespace drove::e2e
