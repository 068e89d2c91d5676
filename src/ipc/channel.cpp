#include "ipc/channel.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "base/json_limits.hpp"
#include "base/log.hpp"
#include "base/loop_barrier.hpp"

namespace drove::ipc {
namespace {

using nlohmann::json;

constexpr std::size_t kReadBufferBytes = 64 * 1024;
constexpr int kMaxFdsPerRead = 32;
constexpr int kMaxReadsPerEvent = 16;          // fairness with the other handles of the loop
constexpr std::size_t kMaxUnclaimedFds = 256;  // fds waiting for their NODE_HANDLE line

Status set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return last_error("fcntl O_NONBLOCK");
  }
  return Ok{};
}

}  // namespace

bool is_internal(const json& msg) {
  if (!msg.is_object()) return false;
  const auto it = msg.find("cmd");
  if (it == msg.end() || !it->is_string()) return false;
  const auto& cmd = it->get_ref<const std::string&>();
  return cmd.size() > 5 && cmd.compare(0, 5, "NODE_") == 0;
}

std::string serialize_message(const json& msg) { return msg.dump(-1, ' ', false, json::error_handler_t::replace); }

Result<std::pair<UniqueFd, UniqueFd>> Channel::make_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return last_error("socketpair for IPC channel");
  }
  UniqueFd ours(fds[0]);
  UniqueFd theirs(fds[1]);
  if (auto st = set_nonblocking(ours.get()); !st) return st.error();
  return std::pair{std::move(ours), std::move(theirs)};
}

Result<std::unique_ptr<Channel>> Channel::open(uv_loop_t* loop, UniqueFd fd, Callbacks callbacks) {
  if (auto st = set_nonblocking(fd.get()); !st) return st.error();
  std::unique_ptr<Channel> channel(new Channel(loop, std::move(fd), std::move(callbacks)));
  if (auto st = channel->start(); !st) return st.error();
  return channel;
}

Channel::Channel(uv_loop_t* loop, UniqueFd fd, Callbacks callbacks)
    : loop_(loop), fd_(std::move(fd)), callbacks_(std::move(callbacks)) {}

Channel::~Channel() { *alive_ = false; }

Status Channel::start() {
  poll_ = UvHandle<uv_poll_t>::make();
  if (int rc = uv_poll_init(loop_, poll_.get(), fd_.get()); rc != 0) {
    return SysError{-rc, "uv_poll_init for IPC channel"};
  }
  poll_->data = this;
  update_poll();
  return Ok{};
}

void Channel::update_poll() {
  if (!poll_ || state_ == State::closed) return;
  int events = UV_READABLE;
  if (!queue_.empty()) events |= UV_WRITABLE;
  if (events == poll_events_) return;
  poll_events_ = events;
  uv_poll_start(poll_.get(), events, [](uv_poll_t* handle, int status, int ev) {
    loop_barrier("IPC channel", [handle, status, ev] {
      if (auto* self = owner_of<Channel>(handle)) self->on_poll(status, ev);
    });
  });
}

Status Channel::send(const json& msg) {
  Outgoing item;
  item.bytes = serialize_message(msg);
  item.bytes.push_back('\n');
  return enqueue(std::move(item));
}

Status Channel::send_handle(const json& inner, UniqueFd fd, const std::string& type, const json& extra) {
  return send_handle(inner, std::make_shared<const UniqueFd>(std::move(fd)), type, extra);
}

Status Channel::send_handle(const json& inner, SharedFd fd, const std::string& type, const json& extra) {
  if (!fd || !fd->valid()) return SysError{EBADF, "send_handle without a descriptor"};
  json envelope = {{"cmd", "NODE_HANDLE"}, {"type", type}, {"msg", inner}};
  if (extra.is_object()) {
    for (const auto& [k, v] : extra.items()) envelope[k] = v;
  }
  Outgoing item;
  item.bytes = serialize_message(envelope);
  item.bytes.push_back('\n');
  item.fd = std::move(fd);
  item.handle_inner = inner;
  return enqueue(std::move(item));
}

Status Channel::enqueue(Outgoing item) {
  if (state_ != State::open) return SysError{EPIPE, "IPC channel is closed"};
  if (queued_bytes_ + item.bytes.size() > max_queued_bytes_) {
    return SysError{ENOBUFS, "IPC channel send queue full"};
  }
  queued_bytes_ += item.bytes.size();
  queue_.push_back(std::move(item));
  const bool was_idle = queue_.size() == 1;
  if (was_idle) flush();  // write at once; EAGAIN leaves the rest to the writable event
  if (state_ != State::open) return SysError{EPIPE, "IPC channel write failed"};
  return Ok{};
}

// Writes queued lines, one sendmsg per line so that a line carrying an fd is never merged with
// another NODE_HANDLE line. Never calls back the owner: a write error closes the channel through
// a deferred path (the poll reports the dead socket) so that send() stays re-entrancy free.
void Channel::flush() {
  while (!queue_.empty() && fd_.valid()) {
    Outgoing& item = queue_.front();
    iovec iov{item.bytes.data() + item.offset, item.bytes.size() - item.offset};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
    const bool with_fd = item.fd && item.offset == 0;
    if (with_fd) {
      msg.msg_control = control.data();
      msg.msg_controllen = control.size();
      cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN(sizeof(int));
      const int raw = item.fd->get();
      std::memcpy(CMSG_DATA(cmsg), &raw, sizeof raw);
    }
    const ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      // EPIPE/ECONNRESET: the peer is gone. Stop writing; reading reports EOF/error next.
      const int err = errno;
      log_warn("IPC channel fd {}: sendmsg failed: {}", fd_.get(), std::strerror(err));
      queue_.clear();
      queued_bytes_ = 0;
      if (state_ == State::open) state_ = State::closing;
      ::shutdown(fd_.get(), SHUT_RDWR);  // makes the poll report readable EOF promptly
      break;
    }
    if (with_fd) item.fd.reset();  // sent: the peer has its own reference now
    item.offset += static_cast<std::size_t>(n);
    if (item.offset < item.bytes.size()) continue;
    queued_bytes_ -= item.bytes.size();
    if (!item.handle_inner.is_null()) sent_handles_.push_back(std::move(item.handle_inner));
    queue_.pop_front();
  }
  if (queue_.empty() && state_ == State::closing && fd_.valid()) {
    ::shutdown(fd_.get(), SHUT_WR);
    state_ = State::shut_down;
  }
  update_poll();
}

void Channel::close() {
  if (state_ != State::open) return;
  state_ = State::closing;
  flush();
}

void Channel::on_poll(int status, int events) {
  if (status < 0) {
    finish(-status);
    return;
  }
  if (events & UV_WRITABLE) flush();  // never calls back, so *this is still alive
  if (events & UV_READABLE) read_some();
}

void Channel::read_some() {
  const std::weak_ptr<bool> alive = alive_;
  std::vector<char> buffer(kReadBufferBytes);
  for (int round = 0; round < kMaxReadsPerEvent; ++round) {
    iovec iov{buffer.data(), buffer.size()};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * kMaxFdsPerRead)> control{};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    const ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      finish(errno);
      return;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int raw = -1;
        std::memcpy(&raw, CMSG_DATA(c) + i * sizeof(int), sizeof raw);
        UniqueFd received(raw);
        if (received_fds_.size() < kMaxUnclaimedFds) received_fds_.push_back(std::move(received));
      }
    }
    if (msg.msg_flags & MSG_CTRUNC) log_warn("IPC channel: control data truncated, fds lost");
    if (n == 0) {
      finish(0);
      return;
    }
    std::vector<std::string> lines;
    if (!framer_.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)), lines)) {
      log_warn("IPC channel: line longer than {} bytes, closing", LineFramer::kDefaultMaxLineBytes);
      finish(EMSGSIZE);
      return;
    }
    for (const auto& line : lines) {
      handle_line(line);
      if (alive.expired() || state_ == State::closed) return;
    }
  }
}

void Channel::send_internal(const char* cmd) { (void)send(json{{"cmd", cmd}}); }

void Channel::handle_line(const std::string& line) {
  std::string why;
  auto parsed = parse_json_bounded(line, why);
  if (!parsed) {
    // Counted and reported (rate-limited) by the owner; a nested bomb never becomes a tree.
    if (callbacks_.on_dropped) callbacks_.on_dropped(why + " (" + std::to_string(line.size()) + " bytes)");
    return;
  }
  json msg = std::move(*parsed);
  if (is_internal(msg)) {
    const auto& cmd = msg["cmd"].get_ref<const std::string&>();
    if (cmd == "NODE_HANDLE") {
      if (received_fds_.empty()) {
        // Node's rule: a handle line without its fd is NACKed and its message dropped.
        send_internal("NODE_HANDLE_NACK");
        return;
      }
      UniqueFd fd = std::move(received_fds_.front());
      received_fds_.pop_front();
      send_internal("NODE_HANDLE_ACK");
      json inner = msg.contains("msg") ? std::move(msg["msg"]) : json();
      if (callbacks_.on_message) callbacks_.on_message(std::move(inner), std::move(fd));
      return;
    }
    if (cmd == "NODE_HANDLE_ACK" || cmd == "NODE_HANDLE_NACK") {
      if (sent_handles_.empty()) return;
      json inner = std::move(sent_handles_.front());
      sent_handles_.pop_front();
      if (on_handle_result_) on_handle_result_(inner, cmd == "NODE_HANDLE_ACK");
      return;
    }
  }
  if (callbacks_.on_message) callbacks_.on_message(std::move(msg), UniqueFd());
}

void Channel::finish(int error) {
  if (state_ == State::closed) return;
  state_ = State::closed;
  poll_.close();
  fd_.reset();
  queue_.clear();
  queued_bytes_ = 0;
  received_fds_.clear();
  auto on_close = std::move(callbacks_.on_close);
  callbacks_ = {};
  on_handle_result_ = {};
  if (on_close) on_close(error);  // last statement: it may destroy *this
}

}  // namespace drove::ipc
