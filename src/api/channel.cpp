// The public Channel: Node-compatible IPC messages with fds, over the engine's ipc::Channel.
#include <fcntl.h>
#include <sys/socket.h>

#include <cstdlib>
#include <string>

#include "api/channel_impl.hpp"

namespace drove {

const char* node_handle_type(int fd, HandleType type) {
  switch (type) {
    case HandleType::net_native:
      return "net.Native";
    case HandleType::net_server:
      return "net.Server";
    case HandleType::net_socket:
      return "net.Socket";
    case HandleType::dgram_native:
      return "dgram.Native";
    case HandleType::dgram_socket:
      return "dgram.Socket";
    case HandleType::automatic:
      break;
  }
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &len) == 0 && value == SOCK_DGRAM) return "dgram.Native";
  len = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) == 0 && value != 0) return "net.Server";
  return "net.Socket";
}

Channel::Impl::~Impl() { Impl::shutdown(); }

void Channel::Impl::shutdown() {
  *alive = false;
  alive = std::make_shared<bool>(true);
  channel.reset();
  if (core) core->resources.erase(this);
  core = nullptr;
  closed = true;
}

Result<std::unique_ptr<Channel::Impl>> Channel::Impl::open(detail::LoopCore& core, UniqueFd fd) {
  auto impl = std::make_unique<Impl>();
  Impl* raw = impl.get();
  auto ch = ipc::Channel::open(
      &core.loop, std::move(fd),
      {.on_message = [raw](nlohmann::json m, UniqueFd f) { raw->deliver(std::move(m), std::move(f)); },
       .on_close = [raw](int) { raw->closed_by_peer(); }});
  if (!ch.ok()) return ch.error();
  impl->channel = std::move(ch.value());
  impl->core = &core;
  core.resources.insert(raw);
  return impl;
}

void Channel::Impl::deliver(nlohmann::json message, UniqueFd fd) {
  if (intercept && intercept(message, fd)) return;
  if (ipc::is_internal(message)) return;  // Node's own (e.g. socket notifications): not the user's
  if (on_message) {
    auto fn = on_message;  // the callback may replace it or destroy the channel
    fn(std::move(message), std::move(fd));
  }
}

void Channel::Impl::closed_by_peer() {
  if (closed) return;
  closed = true;
  auto guard = alive;
  if (on_closed_internal) on_closed_internal();
  if (!*guard) return;
  auto fns = on_disconnect;
  for (auto& fn : fns) {
    fn();
    if (!*guard) return;
  }
}

Status Channel::Impl::send_fd(const nlohmann::json& message, UniqueFd fd, HandleType type) {
  if (!channel || closed) return SysError{EPIPE, "channel send"};
  const char* node_type = node_handle_type(fd.get(), type);
  return channel->send_handle(message, std::move(fd), node_type);
}

bool Channel::has_parent() { return std::getenv("NODE_CHANNEL_FD") != nullptr; }

Result<Channel> Channel::from_parent(EventLoop& loop) {
  const char* text = std::getenv("NODE_CHANNEL_FD");
  if (!text) return SysError{ENOENT, "NODE_CHANNEL_FD is not set: no parent channel"};
  const char* mode = std::getenv("NODE_CHANNEL_SERIALIZATION_MODE");
  if (mode && std::string(mode) == "advanced") return SysError{ENOTSUP, "advanced serialization"};
  char* end = nullptr;
  const long fd = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || fd < 0) return SysError{EBADF, "NODE_CHANNEL_FD=" + std::string(text)};
  // Node removes both from process.env so that they never reach grandchildren.
  ::unsetenv("NODE_CHANNEL_FD");
  ::unsetenv("NODE_CHANNEL_SERIALIZATION_MODE");
  const int flags = ::fcntl(static_cast<int>(fd), F_GETFD);
  if (flags < 0) return last_error("NODE_CHANNEL_FD");
  ::fcntl(static_cast<int>(fd), F_SETFD, flags | FD_CLOEXEC);
  return open(loop, UniqueFd(static_cast<int>(fd)));
}

Result<std::pair<UniqueFd, UniqueFd>> Channel::make_pair() { return ipc::Channel::make_pair(); }

Result<Channel> Channel::open(EventLoop& loop, UniqueFd fd) {
  auto impl = Impl::open(loop.core(), std::move(fd));
  if (!impl.ok()) return impl.error();
  return Channel(std::move(impl.value()));
}

Channel::Channel() = default;
Channel::Channel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Channel::Channel(Channel&&) noexcept = default;
Channel& Channel::operator=(Channel&&) noexcept = default;
Channel::~Channel() = default;

Status Channel::send(const nlohmann::json& message) {
  if (!impl_ || !impl_->channel || impl_->closed) return SysError{EPIPE, "channel send"};
  return impl_->channel->send(message);
}

Status Channel::send(const nlohmann::json& message, UniqueFd fd, HandleType type) {
  if (!impl_) return SysError{EPIPE, "channel send"};
  return impl_->send_fd(message, std::move(fd), type);
}

void Channel::on_message(MessageFn fn) {
  if (impl_) impl_->on_message = std::move(fn);
}

void Channel::on_disconnect(std::function<void()> fn) {
  if (impl_) impl_->on_disconnect.push_back(std::move(fn));
}

void Channel::disconnect() {
  if (impl_ && impl_->channel && !impl_->closed) impl_->channel->close();
}

bool Channel::connected() const { return impl_ && impl_->channel && !impl_->closed && impl_->channel->is_open(); }

}  // namespace drove
