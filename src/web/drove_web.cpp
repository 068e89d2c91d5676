// drove-web: the HTTP side of DROVE_METRICS_ADDR (daemon/metrics_endpoint.hpp explains why it
// is a process of its own). The daemon starts it with one end of a socketpair on --rpc-fd; that
// connection is its only way to the daemon, and may call ping, metrics and list only.
//
//   GET /metrics  the `drove metrics` exposition (Prometheus text format 0.0.4)
//   GET /healthz  200 while the daemon answers, 503 otherwise (liveness)
//   GET /readyz   200 when no instance is launching, restarting, stopping or errored (readiness)
//
// It binds its address (loopback only, unless --allow-remote), drops to --user when run as
// root, serves from two threads, and exits when the daemon's end of the socketpair closes.
// Exit status 78 (EX_CONFIG): a setting that a restart cannot fix; the daemon stops retrying.
#include <arpa/inet.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace {

constexpr int kConfigError = 78;                     // EX_CONFIG
constexpr std::size_t kMaxReplyBytes = 64ull << 20;  // the daemon's own bound on a line
constexpr int kRpcTimeoutMs = 5000;

[[noreturn]] void fail(int status, const std::string& message) {
  std::fprintf(stderr, "drove-web: %s\n", message.c_str());
  std::exit(status);
}

// One blocking JSON-lines connection to the daemon, shared by the server's threads in turn.
class Rpc {
 public:
  explicit Rpc(int fd) : fd_(fd) {}

  // The result of `method`, or nullopt (with `why`) when the daemon did not answer in time.
  std::optional<nlohmann::json> call(const std::string& method, std::string& why) {
    std::lock_guard lock(mutex_);
    const long id = ++next_id_;
    const std::string line =
        nlohmann::json{{"id", id}, {"method", method}, {"params", nlohmann::json::object()}}.dump() + "\n";
    for (std::size_t sent = 0; sent < line.size();) {
      const ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        why = std::string("the daemon's connection: ") + std::strerror(errno);
        return std::nullopt;
      }
      sent += static_cast<std::size_t>(n);
    }
    while (true) {
      for (std::size_t nl; (nl = buffer_.find('\n')) != std::string::npos;) {
        auto reply = nlohmann::json::parse(buffer_.substr(0, nl), nullptr, false);
        buffer_.erase(0, nl + 1);
        if (!reply.is_object() || reply.value("id", 0L) != id) continue;
        if (reply.contains("error")) {
          why = reply["error"].value("message", "error");
          return std::nullopt;
        }
        return reply.value("result", nlohmann::json());
      }
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, kRpcTimeoutMs);
      if (ready == 0) {
        why = "the daemon did not answer within 5 s";
        return std::nullopt;
      }
      char chunk[65536];
      const ssize_t n = ready > 0 ? ::recv(fd_, chunk, sizeof chunk, 0) : -1;
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || buffer_.size() + static_cast<std::size_t>(n) > kMaxReplyBytes) {
        why = "the daemon's connection closed";
        return std::nullopt;
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  std::mutex mutex_;
  long next_id_ = 0;
  std::string buffer_;
};

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

void drop_to(const std::string& user) {
  errno = 0;
  const passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) fail(kConfigError, "no user '" + user + "' to run as");
  if (::setgroups(0, nullptr) != 0 || ::setgid(pw->pw_gid) != 0 || ::setuid(pw->pw_uid) != 0 || ::setuid(0) == 0) {
    fail(1, "cannot drop privileges to '" + user + "': " + std::strerror(errno));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen, user;
  int rpc_fd = -1;
  bool allow_remote = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--listen" && has_value) {
      listen = argv[++i];
    } else if (arg == "--rpc-fd" && has_value) {
      rpc_fd = std::atoi(argv[++i]);
    } else if (arg == "--user" && has_value) {
      user = argv[++i];
    } else if (arg == "--allow-remote") {
      allow_remote = true;
    } else {
      fail(2, "usage: drove-web --listen HOST:PORT --rpc-fd N [--user NAME] [--allow-remote] (started by the daemon)");
    }
  }
  if (rpc_fd < 0 || ::fcntl(rpc_fd, F_GETFD) < 0) fail(2, "--rpc-fd names no open descriptor");
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);

  // HOST:PORT, [IPv6]:PORT.
  const auto colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  const long port = colon == std::string::npos ? -1 : std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (host.empty() || port < 0 || port > 65535 || end == nullptr || *end != '\0') {
    fail(kConfigError, "DROVE_METRICS_ADDR='" + listen + "' is not HOST:PORT (e.g. 127.0.0.1:9615)");
  }
  if (!allow_remote && !is_loopback(host)) {
    fail(kConfigError, "DROVE_METRICS_ADDR='" + listen +
                           "' is not a loopback address: set DROVE_METRICS_ALLOW_REMOTE=1 to serve it to the network");
  }

  Rpc rpc(rpc_fd);
  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  server.set_payload_max_length(4096);  // GET only
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);
  const auto unavailable = [](httplib::Response& res, const std::string& why) {
    res.status = 503;
    res.set_content("unavailable: " + why + "\n", "text/plain; charset=utf-8");
  };
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    std::string why;
    auto result = rpc.call("metrics", why);
    if (!result || !result->contains("text")) return unavailable(res, why);
    res.set_content((*result)["text"].get<std::string>(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
    std::string why;
    if (!rpc.call("ping", why)) return unavailable(res, why);
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });
  server.Get("/readyz", [&](const httplib::Request&, httplib::Response& res) {
    std::string why;
    auto rows = rpc.call("list", why);
    if (!rows || !rows->is_array()) return unavailable(res, why.empty() ? "no process list" : why);
    std::string not_ready;
    for (const auto& p : *rows) {
      const std::string status = p.value("status", "");
      if (status == "online" || status == "stopped") continue;  // a stop is the user's decision
      not_ready += p.value("name", "") + " (id " + std::to_string(p.value("id", 0)) + "): " + status + "\n";
    }
    if (!not_ready.empty()) {
      res.status = 503;
      res.set_content("not ready:\n" + not_ready, "text/plain; charset=utf-8");
      return;
    }
    res.set_content("ready\n", "text/plain; charset=utf-8");
  });

  if (!server.bind_to_port(host, static_cast<int>(port))) {
    fail(1, "cannot listen on " + listen + ": " + std::strerror(errno));
  }
  if (!user.empty() && ::geteuid() == 0) drop_to(user);

  // The daemon went away (its end of the socketpair closed): stop serving.
  std::thread watch([&server, rpc_fd] {
    pollfd p{rpc_fd, POLLRDHUP, 0};
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    server.stop();
  });
  watch.detach();
  std::fprintf(stderr, "drove-web: serving http://%s/metrics, /healthz, /readyz\n", listen.c_str());
  server.listen_after_bind();
  return 0;
}
