// MetricsEndpoint: the opt-in HTTP endpoint for Prometheus and probes (docs/monitoring.md),
// turned on by DROVE_METRICS_ADDR=127.0.0.1:9615 in the environment of the command that starts
// the daemon. Off by default: nothing listens on a network port unless the user asks.
//
// The HTTP server is not in the daemon. It is `drove-web`, a separate program next to `drove`
// (linked with cpp-httplib), which the daemon starts and restarts:
//  - HTTP parsing never runs in, or blocks, the process that owns the apps and accepts their
//    connections, and a crash of it costs a scrape, not the apps;
//  - it gets one end of a socketpair as its only way to the daemon, and that connection may
//    call the methods its pages need only (RpcServer::adopt; kEndpointPolicy): it can read the
//    list, the figures and the live log lines, and restart, reload, stop or scale an app for the
//    web dashboard, but not start, delete or change one (no spec, no environment), and not
//    read environments (each method takes only the parameters its page sends);
//  - the dashboard's actions need a token: 32 random bytes the daemon makes when it starts,
//    writes to $DROVE_HOME/web.token (0600, for `drove web` to print) and hands to drove-web
//    through a pipe (argv and the environment are readable by other users in /proc); the file
//    is removed when the daemon stops, so a token lives as long as its daemon;
//  - when the daemon runs as root it binds its port, then drops to `nobody` before serving;
//  - the rest of drove stays free of OpenSSL, zlib and brotli, which Debian's cpp-httplib links.
// A non-loopback address is refused unless DROVE_METRICS_ALLOW_REMOTE=1.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/loop_timer.hpp"
#include "daemon/rpc_server.hpp"
#include "process/reaper.hpp"

namespace drove::daemon {

class MetricsEndpoint {
 public:
  struct Options {
    std::string address;        // host:port (IPv6 as [::1]:9615)
    bool allow_remote = false;  // DROVE_METRICS_ALLOW_REMOTE=1
    std::string program;        // drove-web's path (next to the daemon's binary)
    std::string token_path;     // $DROVE_HOME/web.token
  };

  // From the daemon's environment: nullopt when DROVE_METRICS_ADDR is unset or empty.
  static std::optional<Options> from_environment(const std::string& daemon_binary);

  MetricsEndpoint(uv_loop_t* loop, process::Reaper& reaper, RpcServer& server, Options options);
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;
  ~MetricsEndpoint();

  void start();  // a new token, then drove-web
  void stop();   // SIGTERM to drove-web; no restart after; the token file is removed
  // {address, pid, restarts, last_exit} for `drove ping`.
  [[nodiscard]] nlohmann::json describe() const;

 private:
  void launch();
  void on_exit(const std::string& how);

  uv_loop_t* loop_;
  process::Reaper& reaper_;
  RpcServer& server_;
  Options options_;
  pid_t pid_ = 0;
  int restarts_ = 0;
  std::int64_t started_mono_ms_ = 0;
  std::string last_exit_;
  std::string token_;  // 64 hex digits, for this daemon's life
  bool stopping_ = false;
  LoopTimer retry_{"metrics endpoint restart"};
};

}  // namespace drove::daemon
