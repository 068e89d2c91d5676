// Acceptor: accepts on one listening socket from the loop and hands each connection (non-
// blocking, close-on-exec) to a callback. Used wherever the program, not a primary, accepts:
// shared-policy cluster servers, socket-activated fds, and standalone servers.
#pragma once

#include <functional>
#include <memory>

#include "api/loop_core.hpp"
#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"

namespace drove::detail {

class Acceptor : public LoopResource {
 public:
  using ConnectionFn = std::function<void(UniqueFd)>;
  Acceptor(LoopCore& core, UniqueFd listening, ConnectionFn on_connection);
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;
  ~Acceptor() override;
  void shutdown() override;
  [[nodiscard]] int port() const;  // the bound TCP port, 0 when unknown

 private:
  void accept_ready();

  LoopCore* core_;
  UniqueFd fd_;  // before poll_: the poll handle is closed first
  UvHandle<uv_poll_t> poll_;
  ConnectionFn on_connection_;
  // Cleared when this acceptor is destroyed: a connection callback may destroy it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace drove::detail
