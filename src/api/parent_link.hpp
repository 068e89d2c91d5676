// ParentLink: this process's one connection to the process that started it — the IPC channel
// of NODE_CHANNEL_FD and, when NODE_UNIQUE_ID is set, the cluster worker protocol on top. The
// cluster worker API and the worker SDK share it: there is only one channel to the parent.
// Created on first use on a loop; lives until that loop is destroyed.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/acceptor.hpp"
#include "api/loop_core.hpp"
#include "cluster/cluster_worker.hpp"
#include "drove/channel.hpp"
#include "drove/cluster.hpp"

namespace drove::detail {

// NODE_UNIQUE_ID as it was at start-up (the link removes it from the environment, as Node does).
int initial_unique_id();

class ParentLink : public LoopResource {
 public:
  // nullptr when this process has no parent channel (or it is bound to another loop).
  static ParentLink* get(EventLoop& loop);

  Status send(const nlohmann::json& message);
  [[nodiscard]] bool is_cluster_worker() const { return worker_ != nullptr; }
  // Cluster worker only: asks the primary for a server.
  void listen(std::optional<std::string> address, int port, cluster::ListenCallbacks callbacks);
  // Closes every server (telling the primary), e.g. on a graceful stop.
  void close_servers();

  std::vector<std::function<void(nlohmann::json, UniqueFd)>> on_message;
  std::vector<std::function<void()>> on_disconnect;
  std::function<void()> on_shutdown_message;  // the "shutdown" message (drove's shutdown_with_message)

  void shutdown() override;

 private:
  struct Server {
    cluster::ListenCallbacks callbacks;
    std::unique_ptr<Acceptor> acceptor;  // shared policy: we accept on the listening socket
  };

  ParentLink() = default;
  bool intercept(const nlohmann::json& message, UniqueFd& fd);
  void deliver(nlohmann::json message, UniqueFd fd);
  void disconnected();

  LoopCore* core_ = nullptr;
  Channel channel_;
  std::unique_ptr<cluster::ClusterWorker> worker_;
  std::map<std::string, Server> servers_;
  bool disconnected_ = false;
};

}  // namespace drove::detail
