// drove/worker.hpp: the SDK for apps run by the daemon — socket activation, the cluster
// protocol, or a socket of its own; readiness; messages; graceful stop.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "api/acceptor.hpp"
#include "api/parent_link.hpp"
#include "cluster/listener.hpp"
#include "drove/worker.hpp"

namespace drove::worker {
namespace {

// What the SDK holds for the process: its servers and the graceful-stop watchers.
struct Sdk : detail::LoopResource {
  detail::LoopCore* core = nullptr;
  std::vector<std::unique_ptr<detail::Acceptor>> servers;
  std::vector<std::function<void()>> on_shutdown;
  std::vector<UvHandle<uv_signal_t>> signals;
  std::vector<int> activation_fds_taken;
  bool shutdown_fired = false;

  void shutdown() override {
    servers.clear();
    signals.clear();
    if (core) core->resources.erase(this);
    core = nullptr;
  }

  void stop_requested() {
    if (shutdown_fired) return;
    shutdown_fired = true;
    servers.clear();
    signals.clear();  // a second SIGINT now has its default effect, as users expect
    auto fns = on_shutdown;
    for (auto& fn : fns) fn();
  }
};

Sdk& sdk(EventLoop& loop) {
  static Sdk state;
  if (state.core != &loop.core()) {
    state.shutdown();
    state.core = &loop.core();
    state.shutdown_fired = false;
    loop.core().resources.insert(&state);
  }
  return state;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto pos = text.find(sep, start);
    out.push_back(text.substr(start, pos - start));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

int port_of(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return -1;
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
  return -1;
}

// systemd's sd_listen_fds(): fds 3.. when LISTEN_PID names this process.
int activation_fd_count() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (!pid || !fds || std::atol(pid) != static_cast<long>(::getpid())) return 0;
  return std::atoi(fds);
}

Status send_notify(const std::string& state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return Ok{};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t len = std::strlen(path);
  if (len >= sizeof addr.sun_path) return SysError{ENAMETOOLONG, "NOTIFY_SOCKET"};
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return last_error("socket");
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  if (::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), addr_len) < 0) {
    return last_error("sd_notify " + std::string(path));
  }
  return Ok{};
}

}  // namespace

const char* to_string(SocketSource source) {
  switch (source) {
    case SocketSource::activation:
      return "activation";
    case SocketSource::cluster:
      return "cluster";
    case SocketSource::standalone:
      return "standalone";
  }
  return "?";
}

bool managed() { return std::getenv("pm_id") != nullptr; }

int instance_index() {
  const char* v = std::getenv("NODE_APP_INSTANCE");
  return v ? std::atoi(v) : 0;
}

Status listen(EventLoop& loop, int port, ListenCallbacks callbacks, const std::string& name) {
  if (port == 0) {
    const char* env_port = std::getenv("PORT");
    port = env_port ? std::atoi(env_port) : 0;
  }
  Sdk& state = sdk(loop);
  if (const int count = activation_fd_count(); count > 0) {
    const char* names_text = std::getenv("LISTEN_FDNAMES");
    const auto names = split(names_text ? names_text : "", ':');
    int chosen = -1;
    for (int i = 0; i < count && chosen < 0; ++i) {
      if (!name.empty() && i < static_cast<int>(names.size()) && names[static_cast<std::size_t>(i)] == name) chosen = i;
    }
    for (int i = 0; i < count && chosen < 0 && name.empty(); ++i) {
      if (port > 0 && port_of(3 + i) == port) chosen = i;
    }
    if (chosen < 0 && name.empty()) chosen = 0;
    if (chosen < 0) return SysError{ENOENT, "no activation socket named " + name};
    const int fd = 3 + chosen;
    for (int taken : state.activation_fds_taken) {
      if (taken == fd) return SysError{EBUSY, "activation socket already in use"};
    }
    state.activation_fds_taken.push_back(fd);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    state.servers.push_back(std::make_unique<detail::Acceptor>(loop.core(), UniqueFd(fd), callbacks.on_connection));
    if (callbacks.on_listening) callbacks.on_listening({SocketSource::activation, port_of(fd)});
    return Ok{};
  }
  if (cluster::is_worker()) {
    auto on_listening = callbacks.on_listening;
    return cluster::listen(loop, std::nullopt, port,
                           cluster::ListenCallbacks{.on_connection = std::move(callbacks.on_connection),
                                                    .on_listening =
                                                        [on_listening](cluster::Address a) {
                                                          if (on_listening)
                                                            on_listening({SocketSource::cluster, a.port});
                                                        },
                                                    .on_error = std::move(callbacks.on_error)});
  }
  auto listener = cluster::open_listener({.kind = cluster::SocketKind::tcp, .address = std::nullopt, .port = port});
  if (!listener.ok()) return listener.error();
  const int actual = listener->port;
  state.servers.push_back(
      std::make_unique<detail::Acceptor>(loop.core(), std::move(listener->fd), callbacks.on_connection));
  if (callbacks.on_listening) callbacks.on_listening({SocketSource::standalone, actual});
  return Ok{};
}

Status ready(EventLoop& loop) {
  if (auto s = send_notify("READY=1"); !s.ok()) return s;
  if (auto* link = detail::ParentLink::get(loop)) return link->send("ready");
  return Ok{};
}

Status send(EventLoop& loop, const nlohmann::json& message) {
  auto* link = detail::ParentLink::get(loop);
  if (!link) return SysError{ENOTCONN, "send: no channel to drove"};
  return link->send(message);
}

void on_message(EventLoop& loop, Channel::MessageFn fn) {
  if (auto* link = detail::ParentLink::get(loop)) link->on_message.push_back(std::move(fn));
}

void on_shutdown(EventLoop& loop, std::function<void()> fn) {
  Sdk& state = sdk(loop);
  state.on_shutdown.push_back(std::move(fn));
  if (!state.signals.empty() || state.shutdown_fired) return;
  for (int sig : {SIGINT, SIGTERM}) {
    auto h = UvHandle<uv_signal_t>::make();
    uv_signal_init(&loop.core().loop, h.get());
    h->data = &state;
    uv_signal_start(
        h.get(),
        [](uv_signal_t* handle, int) {
          if (auto* self = owner_of<Sdk>(handle)) self->stop_requested();
        },
        sig);
    uv_unref(h.handle());  // waiting for a signal alone must not keep the program running
    state.signals.push_back(std::move(h));
  }
  if (auto* link = detail::ParentLink::get(loop)) {
    Sdk* raw = &state;
    link->on_shutdown_message = [raw, link] {
      link->close_servers();
      raw->stop_requested();
    };
    link->on_disconnect.push_back([raw] { raw->stop_requested(); });
  }
}

}  // namespace drove::worker
