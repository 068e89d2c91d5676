// drove/worker.hpp — the SDK for programs run by the drove daemon (any language's equivalent of
// "a Node app under PM2"): get the listening socket, say ready, exchange messages, stop
// gracefully. The same program runs unchanged outside drove.
//
// Where listen() gets its socket, in this order:
//   1. socket activation: the daemon holds the socket and passes it as LISTEN_FDS (fd 3 + i,
//      LISTEN_PID = this process, LISTEN_FDNAMES), as systemd does — cluster apps by default;
//   2. the cluster protocol: the daemon runs the app as a Node-protocol cluster worker
//      (NODE_UNIQUE_ID + NODE_CHANNEL_FD), so round-robin hand-over works too;
//   3. standalone: it binds the port itself (all interfaces, dual-stack).
// ready() says READY=1 on NOTIFY_SOCKET (sd_notify) and/or process.send('ready') on the channel.
// on_shutdown() fires once on SIGINT/SIGTERM, the "shutdown" message, or a cluster disconnect.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "drove/channel.hpp"
#include "drove/cluster.hpp"
#include "drove/event_loop.hpp"
#include "drove/result.hpp"

namespace drove::worker {

enum class SocketSource { activation, cluster, standalone };
const char* to_string(SocketSource source);  // "activation" | "cluster" | "standalone"

struct Listening {
  SocketSource source = SocketSource::standalone;
  int port = 0;
};

struct ListenCallbacks {
  cluster::ConnectionFn on_connection;  // each connection, non-blocking
  std::function<void(Listening)> on_listening;
  std::function<void(SysError)> on_error;
};

// `port` 0 means $PORT. `name` picks an fd by LISTEN_FDNAMES when several are passed (empty:
// the one bound to `port`, else the first).
Status listen(EventLoop& loop, int port, ListenCallbacks callbacks, const std::string& name = "");

// True when run by drove (pm_id is set).
bool managed();
// This instance's index (NODE_APP_INSTANCE or drove's instance_var), 0 outside drove.
int instance_index();

// Tells drove the app serves (wait_ready). OK outside drove (nothing to tell).
Status ready(EventLoop& loop);

// Messages with the daemon (Node channel only: Node-interpreted or cluster-protocol apps).
Status send(EventLoop& loop, const nlohmann::json& message);
void on_message(EventLoop& loop, Channel::MessageFn fn);

// The graceful-stop request, whichever way it comes; `fn` runs once. The servers opened with
// listen() are closed before it runs; finish in-flight work and let run() return (or exit).
void on_shutdown(EventLoop& loop, std::function<void()> fn);

}  // namespace drove::worker
