// ClusterWorker: the worker side of Node's cluster protocol, in C++ (for drove's worker SDK and
// for C++ programs clustered by a Node or drove primary). Over a Channel to the primary it says
// `online`, asks for servers with `queryServer`, and then either receives connections (round-
// robin: `newconn` + fd, answered {ack, accepted}) or the listening socket itself (shared) to
// accept on. It reports `listening`, `close`, and honours `disconnect`.
//
// Single-threaded on the channel's loop. The owner feeds every message of the channel through
// handle_message().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/unique_fd.hpp"
#include "ipc/channel.hpp"

namespace drove::cluster {

class ClusterWorker {
 public:
  struct Callbacks {
    // Round-robin: a connection for server `key` (non-blocking). The worker owns it.
    std::function<void(const std::string& key, UniqueFd connection)> on_connection;
    // Shared/reuseport: the listening socket of server `key`; accept on it yourself.
    std::function<void(const std::string& key, UniqueFd listening_socket)> on_listening_socket;
    // The server is ready (sockname null for unix paths).
    std::function<void(const std::string& key, const nlohmann::json& sockname)> on_listening;
    // The primary could not open it: a negative errno such as -98 (EADDRINUSE).
    std::function<void(const std::string& key, int negative_errno)> on_error;
    // The primary asked for a graceful stop; the servers are already closed (close sent).
    std::function<void()> on_disconnect;
  };

  ClusterWorker(ipc::Channel* channel, Callbacks callbacks);

  void start();  // sends `online`; call once, first

  // Asks for a TCP server (address nullopt: all interfaces, dual-stack). Returns its key.
  std::string listen_tcp(std::optional<std::string> address, int port);

  // Stops accepting connections for `key` and tells the primary (`close`).
  void close_server(const std::string& key);

  // Consumes NODE_CLUSTER messages (true); anything else is the program's own message.
  bool handle_message(const nlohmann::json& msg, UniqueFd& fd);

  [[nodiscard]] bool is_listening(const std::string& key) const;

 private:
  struct Server {
    nlohmann::json query;  // the queryServer message (reused for `listening`)
    bool ready = false;
  };

  void on_reply(const nlohmann::json& msg, UniqueFd& fd, const std::string& key);
  void on_newconn(const nlohmann::json& msg, UniqueFd& fd);

  ipc::Channel* channel_;
  Callbacks callbacks_;
  std::int64_t seq_ = 0;
  std::map<std::int64_t, std::string> pending_;  // queryServer seq -> key
  std::map<std::string, Server> servers_;
  std::map<std::string, int> index_;  // listens per address:port, as Node counts them
};

}  // namespace drove::cluster
