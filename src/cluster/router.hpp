// Router: the round-robin and least-connections policies, where the primary accepts each
// connection itself and hands it to one worker (docs/cluster.md).
//
// It accepts on the SocketTable's sockets (non-blocking, in batches) only while some worker that
// joined the key can take a connection now: routable, its channel not broken, fewer than
// `window_per_worker` hand-overs unanswered. Otherwise it stops polling and the kernel's backlog
// is the queue. It picks the worker (scheduler.hpp), keeps its copy of each connection until the
// worker answers, re-dispatches a refused one, and holds connections it cannot place (their
// worker died or refused them) in a small bounded queue for `hold_ms`. For least-connections it
// counts each worker's open connections (open_connections.hpp, socket_census.hpp).
//
// It reaches workers only through `Send` (ClusterPrimary: a newconn message with the fd on the
// worker's channel), and learns their answers through on_reply() and on_delivery(), so it is
// tested without a channel or a Node process.
//
// Single-threaded on the caller's loop.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"
#include "cluster/load_balance.hpp"
#include "cluster/open_connections.hpp"
#include "cluster/socket_table.hpp"

namespace drove::cluster {

// One accepted connection, shared between the router and the message that carries it.
using Connection = std::shared_ptr<const UniqueFd>;

class Router {
 public:
  struct Options {
    std::size_t window_per_worker = 64;        // unacknowledged hand-overs per worker
    std::size_t max_held_connections = 1024;   // accepted, waiting for a routable worker
    std::int64_t hold_ms = 5000;               // ...for at most this long, then closed
    std::int64_t handover_timeout_ms = 30000;  // no answer: drop our copy
    int accept_batch = 128;                    // accepts per readable event
    std::int64_t estimate_ttl_ms = 1000;       // least-connections without sock_diag
  };

  // Hands `conn` (accepted on `key`) to `worker`; returns the sequence number the worker's
  // answers will name, or an error when its channel refused the write (the worker is then
  // skipped until remove_worker()).
  using Send = std::function<Result<std::int64_t>(WorkerId worker, const std::string& key, const Connection& conn)>;

  // `table` must outlive the router, and call forget(key) before it closes a key's sockets.
  Router(uv_loop_t* loop, LoadBalance policy, const SocketTable& table, Options options, Send send);
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;
  ~Router();

  // Whether the router accepts on this key's socket (round-robin / least-connections, a TCP or
  // unix stream socket that is not for activation); otherwise its workers get the socket itself.
  [[nodiscard]] bool accepts_on(const SocketTable::Entry& entry) const;

  void add_worker(WorkerId worker);
  // The worker is gone (and has left the table): hand-overs its process never received go to
  // another worker, ones it received are closed.
  void remove_worker(WorkerId worker);
  void stop_routing(WorkerId worker);  // no new connections (reload, stop, disconnect)
  [[nodiscard]] bool routable(WorkerId worker) const;

  // The worker's reply to hand-over `seq`: accepted (ours is closed) or refused (re-dispatched).
  void on_reply(WorkerId worker, std::int64_t seq, bool accepted);
  // Its process's ACK (the fd arrived) or NACK (the line arrived without its fd: re-dispatched).
  void on_delivery(WorkerId worker, std::int64_t seq, bool acked);

  // A worker may take connections on some key now (a worker joined, one answered): place the
  // held connections, then start or stop accepting on each socket as needed.
  void drain_held();
  void refresh_accepting();

  // The periodic housekeeping, in two halves around the table's closing of unused keys:
  // expire() drops hand-overs unanswered for handover_timeout_ms and counts open connections;
  // resume() accepts again after EMFILE, places held connections and refreshes accepting.
  void expire(std::int64_t now_ms);
  void resume();

  // Stops accepting for good (`drove update`: the next daemon accepts from the same sockets);
  // held connections still go to workers as they can take them.
  void freeze();

  void forget(const std::string& key);  // the table is about to close the key's sockets
  void drop_held();                     // closes every held connection

  [[nodiscard]] std::uint64_t accepted(const std::string& key) const;
  [[nodiscard]] bool accepting(const std::string& key) const;
  [[nodiscard]] std::size_t held_count() const { return held_.size(); }
  [[nodiscard]] std::size_t held_for(const std::string& key) const;
  // Hand-overs the worker has not answered yet (0 for an unknown worker).
  [[nodiscard]] std::size_t in_flight(WorkerId worker) const;
  [[nodiscard]] bool census_available() const { return census_available_; }
  // routable, handed, accepted, rejected, in_flight, open_connections (none for an unknown worker).
  [[nodiscard]] nlohmann::json describe_worker(WorkerId worker) const;

 private:
  struct HandOver {
    std::string key;
    Connection conn;
    ino_t inode = 0;
    std::int64_t sent_ms = 0;
    bool delivered = false;  // the worker's process ACKed the fd
  };
  struct Held {
    std::string key;
    Connection conn;
    ino_t inode = 0;
    std::int64_t since_ms = 0;
  };
  struct Worker {
    bool routable = true;
    bool broken = false;                         // its channel refused a write
    std::map<std::int64_t, HandOver> in_flight;  // by seq
    std::uint64_t handed = 0, accepted = 0, rejected = 0;
    OpenConnections open;
  };
  // The router's side of one key: where round-robin resumes, and the poll on its socket.
  struct Route {
    Router* router = nullptr;
    std::string key;
    std::size_t cursor = 0;
    std::uint64_t accepted = 0;
    bool polling = false;
    UvHandle<uv_poll_t> poll;
  };

  [[nodiscard]] bool can_take(WorkerId worker) const;
  [[nodiscard]] bool any_can_take(const SocketTable::Entry& entry) const;
  Route& route(const std::string& key);
  void on_acceptable(Route& route);
  void place(const std::string& key, Connection conn, ino_t inode, WorkerId exclude);
  bool dispatch(const std::string& key, const Connection& conn, ino_t inode, WorkerId exclude);
  bool hand_over(WorkerId id, Worker& w, const std::string& key, const Connection& conn, ino_t inode);
  void hold(const std::string& key, Connection conn, ino_t inode);
  void census();

  Worker* find(WorkerId worker);
  [[nodiscard]] const Worker* find(WorkerId worker) const;

  uv_loop_t* loop_;
  LoadBalance policy_;
  const SocketTable& table_;
  Options options_;
  Send send_;
  std::map<WorkerId, Worker> workers_;
  std::map<std::string, std::unique_ptr<Route>> routes_;
  std::deque<Held> held_;
  bool accept_paused_for_fds_ = false;  // EMFILE: retried on the next tick
  bool frozen_ = false;                 // freeze(): never accept again
  bool census_available_ = true;
};

}  // namespace drove::cluster
