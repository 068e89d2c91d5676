// Channel::Impl: the public Channel over the engine's ipc::Channel. Besides the user's
// callbacks it has internal hooks, so that the cluster layer (primary or worker) sees the
// NODE_CLUSTER messages first and a Child learns when its channel closed.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "api/loop_core.hpp"
#include "drove/channel.hpp"
#include "ipc/channel.hpp"

namespace drove {

struct Channel::Impl : detail::LoopResource {
  detail::LoopCore* core = nullptr;
  std::unique_ptr<ipc::Channel> channel;
  MessageFn on_message;
  std::vector<std::function<void()>> on_disconnect;
  // Internal: sees every message first; returns true when it consumed it.
  std::function<bool(const nlohmann::json&, UniqueFd&)> intercept;
  // Internal: the channel closed (before the user's on_disconnect).
  std::function<void()> on_closed_internal;
  bool closed = false;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  ~Impl() override;
  void shutdown() override;

  static Result<std::unique_ptr<Impl>> open(detail::LoopCore& core, UniqueFd fd);
  Status send_fd(const nlohmann::json& message, UniqueFd fd, HandleType type);

 private:
  void deliver(nlohmann::json message, UniqueFd fd);
  void closed_by_peer();
};

// Node's NODE_HANDLE type for `fd` (automatic: from the socket itself).
const char* node_handle_type(int fd, HandleType type);

}  // namespace drove
