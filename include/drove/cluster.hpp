// drove/cluster.hpp — Node's cluster module for C++ programs: a primary forks workers that share
// server ports, over Node's own wire protocol (docs/cluster.md, node-cluster-protocol.md).
//
// Primary side: cluster::Primary forks workers (a C++ program, by default this very program, or
// a Node script) and owns every listening socket; the scheduling policy decides whether it
// accepts connections and hands them over round-robin (pipelined), hands the listening socket
// itself to every worker (shared), one SO_REUSEPORT socket per worker (reuseport), or accepts
// and hands over to the least busy worker (least_connections). The engine is the daemon's own
// ClusterPrimary, so a C++ primary runs unmodified Node workers (`http.createServer().listen()`).
//
// Worker side (NODE_UNIQUE_ID is set): cluster::listen() asks the primary for the server and
// calls on_connection with each connection, whichever policy the primary uses; send() /
// on_message() talk to the primary. A C++ worker runs under a Node primary as well.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "drove/channel.hpp"
#include "drove/event_loop.hpp"
#include "drove/process.hpp"
#include "drove/result.hpp"
#include "drove/unique_fd.hpp"

namespace drove::cluster {

// True unless this process was started as a cluster worker (NODE_UNIQUE_ID in the environment).
bool is_primary();
bool is_worker();

enum class SchedulingPolicy { round_robin, shared, reuseport, least_connections };

// A server's address as Node's server.address() reports it.
struct Address {
  std::string address;  // "127.0.0.1", "::"
  std::string family;   // "IPv4" | "IPv6"
  int port = 0;
};

struct Settings {
  // What each worker runs; empty: this program (/proc/self/exe) with `args`.
  std::string exec;
  std::vector<std::string> args;
  // The interpreter, like ForkOptions::exec_path: empty means node for .js, else exec itself.
  std::string exec_path;
  SchedulingPolicy policy = SchedulingPolicy::round_robin;
  bool silent = false;  // true: workers' stdout/stderr are pipes (Worker::process()), else inherited
  std::string cwd;
};

class Primary;

// One worker, seen from the primary. Owned by the Primary; valid until its on_exit callbacks
// have returned (do not keep the pointer beyond).
class Worker {
 public:
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();

  [[nodiscard]] int id() const;  // 1, 2, ... (NODE_UNIQUE_ID)
  [[nodiscard]] pid_t pid() const;
  [[nodiscard]] bool is_connected() const;
  [[nodiscard]] bool is_dead() const;
  // True once the worker was asked to disconnect (or said it would): its exit is expected.
  [[nodiscard]] bool exited_after_disconnect() const;
  [[nodiscard]] Child& process();

  Status send(const nlohmann::json& message);
  Status send(const nlohmann::json& message, UniqueFd fd, HandleType type = HandleType::automatic);
  // Graceful: no new connections; the worker closes its servers, finishes, and exits.
  void disconnect();
  Status kill(int signal = SIGTERM);

  void on_online(std::function<void()> fn);
  void on_listening(std::function<void(Address)> fn);
  void on_message(std::function<void(nlohmann::json message, UniqueFd fd)> fn);
  void on_disconnect(std::function<void()> fn);
  void on_exit(std::function<void(ExitInfo)> fn);

  struct Impl;  // internal
  explicit Worker(std::unique_ptr<Impl> impl);
  [[nodiscard]] Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

class Primary {
 public:
  explicit Primary(EventLoop& loop, Settings settings = {});
  Primary(const Primary&) = delete;
  Primary& operator=(const Primary&) = delete;
  ~Primary();  // closes the listening sockets; workers see their channel close and exit

  // Node's cluster.fork(env): `env` is added to this process's environment.
  Result<Worker*> fork(const Environment& env = {});
  [[nodiscard]] std::vector<Worker*> workers() const;
  // Disconnects every worker; `done` runs once all of them have exited.
  void disconnect(std::function<void()> done = {});

  // Node's cluster events, for every worker (the Worker's own callbacks run first).
  void on_fork(std::function<void(Worker&)> fn);
  void on_online(std::function<void(Worker&)> fn);
  void on_listening(std::function<void(Worker&, Address)> fn);
  void on_message(std::function<void(Worker&, nlohmann::json message, UniqueFd fd)> fn);
  void on_disconnect(std::function<void(Worker&)> fn);
  void on_exit(std::function<void(Worker&, ExitInfo)> fn);

  struct Impl;  // internal

 private:
  std::shared_ptr<Impl> impl_;
};

// ---- In a worker ------------------------------------------------------------------------

// This worker's id (NODE_UNIQUE_ID), 0 in a primary.
int worker_id();

using ConnectionFn = std::function<void(UniqueFd connection)>;  // non-blocking, connected

struct ListenCallbacks {
  ConnectionFn on_connection;
  std::function<void(Address)> on_listening;  // the server is ready
  std::function<void(SysError)> on_error;     // the primary could not open it (e.g. EADDRINUSE)
};

// Asks the primary for a TCP server on `address` (nullopt: all interfaces, dual-stack) and
// `port`. The first call connects to the primary (sends `online`). EINVAL outside a worker.
Status listen(EventLoop& loop, std::optional<std::string> address, int port, ListenCallbacks callbacks);
Status listen(EventLoop& loop, std::optional<std::string> address, int port, ConnectionFn on_connection);

// Messages with the primary (worker.send / worker.on('message') on the other side).
Status send(EventLoop& loop, const nlohmann::json& message);
void on_message(EventLoop& loop, std::function<void(nlohmann::json message, UniqueFd fd)> fn);
// The primary asked this worker to stop (Worker::disconnect) or went away: servers are closed
// already. When the primary asked, finish in-flight work: the channel closes after the
// callbacks. When it went away (its channel closed: it exited, crashed or was killed), the
// worker exits with code 0 right after the callbacks (std::exit), as a Node worker does.
void on_disconnect(EventLoop& loop, std::function<void()> fn);

}  // namespace drove::cluster
