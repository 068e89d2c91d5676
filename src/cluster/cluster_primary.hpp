// ClusterPrimary: the Node cluster primary for ONE app, played by the daemon. Unmodified Node
// workers (NODE_UNIQUE_ID set, channel on fd 3) ask it for their servers with queryServer; it
// owns every listening socket, keyed like Node's, shared by all workers of the app and kept open
// while workers come and go, so restarts and reloads never refuse a connection.
//
// Policies (docs/cluster.md):
//   round_robin        the primary accepts and hands each connection over (newconn + fd),
//                      pipelined: up to `window_per_worker` unacknowledged hand-overs per worker
//   shared             the worker gets the listening socket itself (NODE_HANDLE net.Native)
//   reuseport          one SO_REUSEPORT socket per worker slot, held here across restarts
//   least_connections  like round_robin, to the worker with the fewest open connections
// UDP is always shared (dgram.Native).
//
// A facade over two units: the SocketTable (socket_table.hpp) holds the listening sockets and
// which workers joined each; the Router (router.hpp) accepts on them and hands connections
// over. This class speaks the protocol (queryServer and its replies, newconn replies, online,
// listening, disconnect), owns the workers' channels, and wires the two together: the router
// sends its hand-overs through the channels here, and forgets a key before the table closes it.
//
// Single-threaded on the caller's loop. The owner (the daemon) feeds it every message of a
// worker's channel through handle_message() and calls remove_worker() when the channel closed,
// before the Channel is destroyed.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"
#include "cluster/listener.hpp"
#include "cluster/load_balance.hpp"
#include "cluster/router.hpp"
#include "cluster/socket_table.hpp"
#include "ipc/channel.hpp"
#include "ipc/cluster_messages.hpp"

namespace drove::cluster {

class ClusterPrimary {
 public:
  struct Events {
    std::function<void(WorkerId, const ipc::WorkerListening&)> on_listening;
    std::function<void(WorkerId)> on_online;
    std::function<void(WorkerId)> on_exited_after_disconnect;
    std::function<void(WorkerId, const std::string& key, int negative_errno)> on_bind_error;
    // A NODE_CLUSTER message with a field of the wrong type: dropped (a queryServer is answered
    // with EINVAL, so the worker's listen() fails instead of waiting forever).
    std::function<void(WorkerId, const std::string& reason)> on_protocol_error;
  };

  struct Options {
    std::size_t window_per_worker = 64;        // unacknowledged hand-overs per worker
    std::size_t max_held_connections = 1024;   // accepted, waiting for a routable worker
    std::int64_t hold_ms = 5000;               // ...for at most this long, then closed
    std::int64_t handover_timeout_ms = 30000;  // no {accepted} reply: drop our copy
    int accept_batch = 128;                    // accepts per readable event
    std::int64_t tick_ms = 100;                // census and expiry period
    std::int64_t estimate_ttl_ms = 1000;       // least-connections without sock_diag
    // Listening keys one app may hold (activation sockets, fixed by its config, not counted);
    // past it queryServer is answered EMFILE. A key no worker holds any more is closed after
    // `unused_listener_close_ms` (long enough for a restart to re-join it).
    std::size_t max_listeners = 64;
    std::int64_t unused_listener_close_ms = 10000;
    // The app's rights, asked for at every bind/unlink (an app whose user cannot be resolved
    // gets no socket). Unset: the daemon's own rights (the app runs as the daemon's user).
    std::function<Result<BindIdentity>()> bind_as;
    std::string app_name;  // for the daemon's log
  };

  ClusterPrimary(uv_loop_t* loop, LoadBalance policy, Events events);
  ClusterPrimary(uv_loop_t* loop, LoadBalance policy, Events events, Options options);
  ClusterPrimary(const ClusterPrimary&) = delete;
  ClusterPrimary& operator=(const ClusterPrimary&) = delete;
  ~ClusterPrimary();  // closes every socket; unregisters from the channels still registered

  // Registers a worker; `slot` is its instance slot (reuseport: a replacement for the same slot
  // gets the same socket); -1 means the id. The channel must outlive the registration.
  void add_worker(WorkerId id, ipc::Channel* channel, int slot = -1);

  // Consumes NODE_CLUSTER messages (returns true); anything else is the app's own message.
  bool handle_message(WorkerId id, const nlohmann::json& msg, UniqueFd& fd);

  void stop_routing(WorkerId id);   // no new connections (reload, stop)
  void disconnect(WorkerId id);     // graceful: act "disconnect"; the worker closes and exits
  void remove_worker(WorkerId id);  // died / channel closed: hand-overs not yet received are
                                    // re-dispatched, received ones are closed; nothing leaks

  // Daemon survival (docs/architecture.md): what a new daemon needs to take a worker back, and
  // taking it back. A worker's state: the servers it asked for and those it reported listening.
  struct WorkerState {
    std::set<std::string> keys;
    std::set<std::string> listening;
    bool online = false;
  };
  [[nodiscard]] std::optional<WorkerState> worker_state(WorkerId id) const;
  [[nodiscard]] const SocketTable& table() const { return table_; }
  // A socket opened by the previous daemon (see SocketTable::adopt).
  void adopt_socket(const std::string& key, const ListenRequest& request, bool activation, int slot, Listener listener);
  // After add_worker(): the worker already holds these servers; connections flow to it again.
  void adopt_worker(WorkerId id, const WorkerState& state);

  // `drove update`: accept no more; connections already accepted still reach workers.
  void freeze() { router_.freeze(); }
  [[nodiscard]] std::size_t held_connections() const { return router_.held_count(); }

  [[nodiscard]] std::vector<std::string> listening_keys(WorkerId id) const;
  // Whether the worker holds a server it asked for (queryServer), listening or not yet.
  [[nodiscard]] bool asked_for_server(WorkerId id) const;
  [[nodiscard]] std::size_t worker_count() const { return workers_.size(); }
  [[nodiscard]] nlohmann::json describe() const;
  // One worker as the router sees it (Router::describe_worker); empty for an unknown worker.
  [[nodiscard]] nlohmann::json describe_worker(WorkerId id) const { return router_.describe_worker(id); }
  void close_all();  // closes every listening socket (app deleted)
  // Closes the listening sockets no worker holds now (an app sharing this primary was deleted:
  // the ports the other apps' workers hold stay open).
  void close_unheld();

  // Socket activation for non-Node apps (systemd LISTEN_FDS): listening fds for instance
  // `slot`, in `specs` order, owned by the primary (shared, or one per slot for reuseport).
  Result<std::vector<int>> activation_fds(const std::vector<ListenSpec>& specs, int slot);
  // Closes the reuseport sockets of a slot that will not come back (scale down).
  void release_slot(int slot);

  // Connections waiting for these workers (autoscaling's `pending` signal): in the accept
  // queues of the sockets they joined (and of activation sockets, which belong to one app),
  // handed over and not yet answered, and held by the router for those keys. nullopt while no
  // such socket is open.
  [[nodiscard]] std::optional<std::size_t> waiting_connections(const std::vector<WorkerId>& workers) const;

 private:
  struct Worker {
    WorkerId id = 0;
    ipc::Channel* channel = nullptr;
    int slot = 0;
    bool online = false;
    std::set<std::string> keys;       // servers it asked for
    std::set<std::string> listening;  // servers it reported listening
  };

  void on_query_server(Worker& w, const ipc::QueryServer& q);
  void on_server_closed(Worker& w, const std::string& key);
  void reply_with_socket(Worker& w, const ipc::QueryServer& q, SocketKind kind, const nlohmann::json& data, int fd);
  void reply_error(Worker& w, const ipc::QueryServer& q, const SysError& error, bool log_it = true);
  Result<std::int64_t> send_connection(WorkerId id, const std::string& key, const Connection& conn);
  void on_tick();

  Worker* find(WorkerId id);
  const Worker* find(WorkerId id) const;
  std::int64_t next_seq() { return seq_++; }

  LoadBalance policy_;
  Events events_;
  Options options_;
  std::map<WorkerId, std::unique_ptr<Worker>> workers_;
  // Node's per-server `data` (TLS ticket keys): the first worker's, given to all; by key, until
  // the table closes the key.
  std::map<std::string, nlohmann::json> server_data_;
  std::vector<nlohmann::json> bind_errors_;
  std::int64_t seq_ = 0;
  SocketTable table_;
  Router router_;  // after table_: its polls close before the table's fds
  UvHandle<uv_timer_t> tick_;
};

}  // namespace drove::cluster
