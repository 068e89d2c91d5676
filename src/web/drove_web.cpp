// drove-web: the HTTP side of DROVE_METRICS_ADDR (daemon/metrics_endpoint.hpp explains why it
// is a process of its own). The daemon starts it with one end of a socketpair on --rpc-fd; that
// connection is its only way to the daemon, and may call the methods the daemon allows it
// (ping, metrics, list, subscribe/unsubscribe for logs, restart, reload, stop, scale).
//
//   GET /metrics      the `drove metrics` exposition (Prometheus text format 0.0.4)
//   GET /healthz      200 while the daemon answers, 503 otherwise (liveness)
//   GET /readyz       200 when no instance is launching, restarting, stopping or errored
//   GET /             the web dashboard (with /dashboard.js, /dashboard.css: src/web/assets)
//   GET /api/list     the daemon's `list` (what `drove list` shows), JSON; ?history=1 adds each
//                     process's last minutes of CPU and memory
//   GET /api/logs     live log lines, Server-Sent Events (?app=NAME: that app's); token
//   POST /api/action  restart, reload, stop or scale; token
//
// The token (--token-fd: 64 hex digits read from a pipe, never from argv, which any local user
// can read in /proc) is the one the daemon wrote to $DROVE_HOME/web.token; web/request_guard.hpp
// has the rest of the dashboard's security model. It binds its address (loopback only, unless
// --allow-remote), drops to --user when run as root, and exits when the daemon's end of the
// socketpair closes. Exit status 78 (EX_CONFIG): a setting a restart cannot fix.
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "web/assets.hpp"
#include "web/daemon_connection.hpp"
#include "web/log_hub.hpp"
#include "web/request_guard.hpp"

namespace {

using namespace std::chrono_literals;
using drove::web::DaemonConnection;

constexpr int kConfigError = 78;  // EX_CONFIG
constexpr auto kRpcTimeout = 5s;
// A restart replies once the new process is online; a reload of a big app takes longer: past
// this the page is told the action is still running (202) and follows it in the list.
constexpr auto kActionTimeout = 30s;
constexpr std::size_t kMaxLogStreams = 4;               // each holds an HTTP thread
constexpr std::size_t kMaxQueuedLogBytes = 1ull << 20;  // per stream, before its oldest lines go
constexpr auto kLogKeepAlive = 2s;                      // a comment this often: a closed tab is noticed by the write

[[noreturn]] void fail(int status, const std::string& message) {
  std::fprintf(stderr, "drove-web: %s\n", message.c_str());
  std::exit(status);
}

void drop_to(const std::string& user) {
  errno = 0;
  const passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) fail(kConfigError, "no user '" + user + "' to run as");
  if (::setgroups(0, nullptr) != 0 || ::setgid(pw->pw_gid) != 0 || ::setuid(pw->pw_uid) != 0 || ::setuid(0) == 0) {
    fail(1, "cannot drop privileges to '" + user + "': " + std::strerror(errno));
  }
}

// The token, from the pipe the daemon wrote it into (then closed).
std::string read_token(int fd) {
  std::string token;
  char chunk[128];
  while (token.size() <= 256) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    token.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  if (!drove::web::is_valid_token(token)) fail(2, "--token-fd gave no token (64 hex digits)");
  return token;
}

void json_reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                  "application/json; charset=utf-8");
}

void json_error(httplib::Response& res, int status, const std::string& message) {
  json_reply(res, status, {{"error", message}});
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen, user;
  int rpc_fd = -1;
  int token_fd = -1;
  bool allow_remote = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--listen" && has_value) {
      listen = argv[++i];
    } else if (arg == "--rpc-fd" && has_value) {
      rpc_fd = std::atoi(argv[++i]);
    } else if (arg == "--token-fd" && has_value) {
      token_fd = std::atoi(argv[++i]);
    } else if (arg == "--user" && has_value) {
      user = argv[++i];
    } else if (arg == "--allow-remote") {
      allow_remote = true;
    } else {
      fail(2,
           "usage: drove-web --listen HOST:PORT --rpc-fd N --token-fd N [--user NAME] [--allow-remote] "
           "(started by the daemon)");
    }
  }
  if (rpc_fd < 0 || ::fcntl(rpc_fd, F_GETFD) < 0) fail(2, "--rpc-fd names no open descriptor");
  if (token_fd < 0 || ::fcntl(token_fd, F_GETFD) < 0) fail(2, "--token-fd names no open descriptor");
  const std::string token = read_token(token_fd);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  ::signal(SIGPIPE, SIG_IGN);  // a browser that went away is a failed write, not the end of us

  // HOST:PORT, [IPv6]:PORT.
  const auto colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  const long port = colon == std::string::npos ? -1 : std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (host.empty() || port < 0 || port > 65535 || end == nullptr || *end != '\0') {
    fail(kConfigError, "DROVE_METRICS_ADDR='" + listen + "' is not HOST:PORT (e.g. 127.0.0.1:9615)");
  }
  if (!allow_remote && !drove::web::is_loopback(host)) {
    fail(kConfigError, "DROVE_METRICS_ADDR='" + listen +
                           "' is not a loopback address: set DROVE_METRICS_ALLOW_REMOTE=1 to serve it to the network");
  }

  httplib::Server server;
  std::optional<drove::web::LogHub> logs;
  DaemonConnection daemon(
      rpc_fd,
      [&logs](const nlohmann::json& event, const std::string& line) {
        if (event.value("event", "") == "log" && logs) logs->publish(event.value("name", ""), line);
      },
      [] {
        // The daemon went away (its end of the socketpair closed): nothing is left to serve, and
        // exiting here cannot race with the server's start the way stopping it could.
        std::fprintf(stderr, "drove-web: the daemon's connection closed; exiting\n");
        std::_Exit(0);
      });
  logs.emplace(kMaxLogStreams, kMaxQueuedLogBytes, [&daemon](bool on, std::string& why) {
    const auto reply = daemon.call(on ? "subscribe" : "unsubscribe", {{"logs", true}}, kRpcTimeout);
    if (!reply.ok()) why = "the daemon refused the log stream: " + reply.message;
    return reply.ok();
  });
  daemon.start();

  // Threads: the live log streams hold one each, and requests need a few more.
  server.new_task_queue = [] { return new httplib::ThreadPool(static_cast<int>(kMaxLogStreams) + 4); };
  server.set_payload_max_length(4096);  // an action's body is a few dozen bytes
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);
  server.set_keep_alive_timeout(2);
  server.set_default_headers({
      {"Cache-Control", "no-store"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
      // Only the page's own files, and requests to drove-web itself (no inline script).
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
  });
  // Bound to loopback, only loopback peers can connect; checked anyway, as the docs promise it.
  server.set_pre_routing_handler([allow_remote](const httplib::Request& req, httplib::Response& res) {
    if (allow_remote || drove::web::is_loopback(req.remote_addr)) return httplib::Server::HandlerResponse::Unhandled;
    res.status = 403;
    res.set_content("this endpoint serves loopback clients only (DROVE_METRICS_ALLOW_REMOTE)\n",
                    "text/plain; charset=utf-8");
    return httplib::Server::HandlerResponse::Handled;
  });

  const auto unavailable = [](httplib::Response& res, const std::string& why) {
    res.status = 503;
    res.set_content("unavailable: " + why + "\n", "text/plain; charset=utf-8");
  };
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    auto reply = daemon.call("metrics", nlohmann::json::object(), kRpcTimeout);
    if (!reply.ok() || !reply.result.contains("text")) return unavailable(res, reply.message);
    res.set_content(reply.result["text"].get<std::string>(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
    auto reply = daemon.call("ping", nlohmann::json::object(), kRpcTimeout);
    if (!reply.ok()) return unavailable(res, reply.message);
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });
  server.Get("/readyz", [&](const httplib::Request&, httplib::Response& res) {
    auto reply = daemon.call("list", nlohmann::json::object(), kRpcTimeout);
    if (!reply.ok() || !reply.result.is_array())
      return unavailable(res, reply.message.empty() ? "no process list" : reply.message);
    std::string not_ready;
    for (const auto& p : reply.result) {
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

  // The dashboard's checks (web/request_guard.hpp); false when `res` holds the refusal.
  const auto admit = [&token, port](const httplib::Request& req, httplib::Response& res, bool needs_token) {
    const std::string host_header = req.get_header_value("Host");
    if (!drove::web::host_is_acceptable(host_header, static_cast<int>(port))) {
      json_error(res, 403,
                 "the dashboard answers to its address (e.g. 127.0.0.1:" + std::to_string(port) + "), not to '" +
                     host_header.substr(0, 256) + "'");
      return false;
    }
    if (!drove::web::origin_is_acceptable(req.get_header_value("Origin"), host_header)) {
      json_error(res, 403, "cross-origin requests are refused");
      return false;
    }
    if (!needs_token) return true;
    const std::string authorization = req.get_header_value("Authorization");
    if (authorization.empty()) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"drove\"");
      json_error(res, 401, "this needs the dashboard's token (Authorization: Bearer <$DROVE_HOME/web.token>)");
      return false;
    }
    if (!drove::web::bearer_matches(authorization, token)) {
      json_error(res, 403, "wrong token (the daemon writes a new one to $DROVE_HOME/web.token when it starts)");
      return false;
    }
    return true;
  };

  for (const auto& asset : drove::web::dashboard_assets()) {
    server.Get(std::string(asset.path), [&admit, &asset](const httplib::Request& req, httplib::Response& res) {
      if (!admit(req, res, /*needs_token=*/false)) return;
      res.set_content(asset.body.data(), asset.body.size(), std::string(asset.content_type));
    });
  }
  server.Get("/api/list", [&](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, /*needs_token=*/false)) return;
    // ?history=1: each process also carries the daemon's last minutes of CPU and memory (the
    // page asks once, when it opens, to draw full charts at once).
    const nlohmann::json params =
        req.get_param_value("history") == "1" ? nlohmann::json{{"history", true}} : nlohmann::json::object();
    auto reply = daemon.call("list", params, kRpcTimeout);
    if (!reply.ok() || !reply.result.is_array()) return json_error(res, 503, "no process list: " + reply.message);
    json_reply(res, 200, reply.result);
  });
  server.Get("/api/logs", [&](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, /*needs_token=*/true)) return;
    const std::string app = req.get_param_value("app");
    if (!drove::web::is_valid_app_filter(app)) {
      return json_error(res, 400, "'app' must be an app's name (at most 256 printable bytes)");
    }
    std::string why;
    auto stream = logs->open(app, why);
    if (!stream) return json_error(res, 503, why);
    res.set_header("X-Accel-Buffering", "no");  // a proxy in front must not hold the lines back
    // Exactly "text/event-stream" (UTF-8 by definition): cpp-httplib compresses any other text/*
    // type for a browser that accepts brotli or gzip, and its compressor holds lines back.
    res.set_chunked_content_provider(
        "text/event-stream",
        [&logs, stream, first = true](std::size_t, httplib::DataSink& sink) mutable {
          if (first) {
            first = false;  // at once: the client knows the stream is open before a line comes
            static constexpr char kOpen[] = ": drove live log stream\n\n";
            return sink.write(kOpen, sizeof kOpen - 1);
          }
          bool ended = false;
          std::string text = logs->next(*stream, kLogKeepAlive, ended);
          if (ended) {
            if (!text.empty()) sink.write(text.data(), text.size());
            sink.done();
            return true;
          }
          if (text.empty()) text = ": keep-alive\n\n";  // never empty: an empty write ends the stream
          return sink.write(text.data(), text.size());
        },
        [&logs, stream](bool) { logs->close(stream); });
  });
  server.Post("/api/action", [&](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, /*needs_token=*/true)) return;
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
      return json_error(res, 415, "the body must be JSON (Content-Type: application/json)");
    }
    std::string why;
    const auto call = drove::web::action_call(req.body, why);
    if (!call) return json_error(res, 400, why);
    const auto reply = daemon.call(call->method, call->params, kActionTimeout);
    // An audit line in drove.log for every action carried out or tried.
    std::fprintf(stderr, "drove-web: %s %s from %s: %s\n", call->method.c_str(), call->params.dump().c_str(),
                 req.remote_addr.c_str(), reply.ok() ? "done" : reply.message.c_str());
    switch (reply.kind) {
      case DaemonConnection::Reply::Kind::ok:
        return json_reply(res, 200, {{"ok", true}, {"result", reply.result}});
      case DaemonConnection::Reply::Kind::timed_out:
        return json_reply(res, 202, {{"ok", true}, {"pending", true}, {"message", reply.message}});
      case DaemonConnection::Reply::Kind::error:
        return json_error(res, 422, reply.message);
      case DaemonConnection::Reply::Kind::unavailable:
        return json_error(res, 503, reply.message);
    }
  });

  if (!server.bind_to_port(host, static_cast<int>(port))) {
    fail(1, "cannot listen on " + listen + ": " + std::strerror(errno));
  }
  if (!user.empty() && ::geteuid() == 0) drop_to(user);
  std::fprintf(stderr, "drove-web: serving http://%s/ (dashboard), /metrics, /healthz, /readyz\n", listen.c_str());
  server.listen_after_bind();
  return 0;
}
