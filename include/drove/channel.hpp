// drove/channel.hpp — one end of a Node-compatible IPC channel: JSON messages, each optionally
// carrying a file descriptor, framed exactly like Node's child_process channel ("json"
// serialization: one compact JSON value per line over an AF_UNIX stream socket, the fd attached
// with SCM_RIGHTS inside Node's NODE_HANDLE envelope, every received handle ACKed).
//
// So a C++ parent talks to a Node child (process.send / process.on('message')), and a Node
// parent (child_process.fork) to a C++ child that calls Channel::from_parent().
//
// Messages are user messages only: Node's internal ones (objects whose `cmd` starts with
// "NODE_") are handled by the library and never reach on_message. A message that carries an fd
// arrives with it; received TCP/unix sockets are left blocking, as Node's sender made them.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include <nlohmann/json.hpp>

#include "drove/event_loop.hpp"
#include "drove/result.hpp"
#include "drove/unique_fd.hpp"

namespace drove {

// How Node's receiver should rebuild a sent descriptor (the NODE_HANDLE "type").
enum class HandleType {
  automatic,   // net.Server for a listening socket, dgram.Socket for UDP, net.Socket otherwise
  net_native,  // a raw handle (what Node's cluster uses)
  net_server,  // Node builds a net.Server (child.send(msg, server))
  net_socket,  // Node builds a net.Socket (child.send(msg, socket))
  dgram_native,
  dgram_socket,
};

class Channel {
 public:
  using MessageFn = std::function<void(nlohmann::json message, UniqueFd fd)>;

  // True when this process was started with a channel (NODE_CHANNEL_FD is set).
  static bool has_parent();
  // Opens the channel to the parent: reads NODE_CHANNEL_FD and removes it (and
  // NODE_CHANNEL_SERIALIZATION_MODE) from the environment so grandchildren do not inherit it,
  // as Node does. ENOENT without one; ENOTSUP for the "advanced" serialization.
  static Result<Channel> from_parent(EventLoop& loop);
  // A connected socketpair: first is this process's end, second goes to the child.
  static Result<std::pair<UniqueFd, UniqueFd>> make_pair();
  // Opens a channel on an AF_UNIX stream socket.
  static Result<Channel> open(EventLoop& loop, UniqueFd fd);

  Channel();
  Channel(Channel&&) noexcept;
  Channel& operator=(Channel&&) noexcept;
  ~Channel();  // closes at once: unsent messages are dropped

  // Queues a message. EPIPE once disconnected, ENOBUFS when the send queue is full (64 MiB).
  Status send(const nlohmann::json& message);
  // Queues a message with `fd` attached; the peer gets both together.
  Status send(const nlohmann::json& message, UniqueFd fd, HandleType type = HandleType::automatic);

  void on_message(MessageFn fn);
  // The peer closed, or disconnect() finished. Called once.
  void on_disconnect(std::function<void()> fn);

  // Graceful close: flushes what is queued, then closes (Node's disconnect()).
  void disconnect();
  [[nodiscard]] bool connected() const;

  struct Impl;  // internal
  [[nodiscard]] Impl* impl() const { return impl_.get(); }

 private:
  explicit Channel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace drove
