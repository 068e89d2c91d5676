// Channel: one end of a Node-compatible child_process IPC channel (an AF_UNIX SOCK_STREAM
// socket, "json" serialization: one compact JSON value per line, fds attached with SCM_RIGHTS).
//
// Why recvmsg/sendmsg on a uv_poll instead of uv_pipe: the protocol's fd rules are exact and
// libuv's IPC pipe hides them. Node needs exactly one fd on the sendmsg that carries the first
// bytes of a NODE_HANDLE line, never two NODE_HANDLE lines with fds in one sendmsg; a receiver
// keeps fds in arrival order and gives one to each NODE_HANDLE line it parses, and must ACK every
// handle or a Node sender stalls (node-cluster-protocol.md §1, G2).
//
// Event-driven on the caller's loop, single-threaded, never blocks. Callbacks may destroy the
// Channel (or call close()) from inside themselves.
#pragma once

#include <uv.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"
#include "ipc/line_framer.hpp"

namespace drove::ipc {

// An fd that two owners need until both are done with it: e.g. the cluster primary keeps a
// connection it handed over until the worker accepts it, while the channel keeps it until the
// sendmsg happened.
using SharedFd = std::shared_ptr<const UniqueFd>;

// True for Node's internal messages: an object whose `cmd` is a string longer than 5 characters
// starting with "NODE_" (those never reach user 'message' handlers).
bool is_internal(const nlohmann::json& msg);

// Compact JSON text of one message, without the '\n'. Invalid UTF-8 in strings is replaced
// rather than thrown, and control characters are escaped, so the result never contains '\n'.
std::string serialize_message(const nlohmann::json& msg);

class Channel {
 public:
  struct Callbacks {
    // A message from the peer. For a NODE_HANDLE line this is the inner `msg` with the fd it
    // carried (already ACKed); otherwise `fd` is empty. Internal NODE_HANDLE_ACK/NACK lines are
    // consumed and never reach here.
    std::function<void(nlohmann::json msg, UniqueFd fd)> on_message;
    // Called once: the peer closed (error 0), the stream failed (positive errno), the peer sent
    // garbage beyond the line bound (EMSGSIZE), or close() finished. Not called by the destructor.
    std::function<void(int error)> on_close;
    // A line that was dropped: not JSON, or nested deeper than kMaxJsonDepth (base/json_limits).
    // The stream stays framed, so the channel stays open. Optional.
    std::function<void(const std::string& reason)> on_dropped;
  };

  // The outcome of a handle we sent: acked=false means the peer got the line without its fd.
  using HandleResultFn = std::function<void(const nlohmann::json& inner, bool acked)>;

  static constexpr std::size_t kDefaultMaxQueuedBytes = 64u * 1024u * 1024u;

  // socketpair(AF_UNIX, SOCK_STREAM, CLOEXEC). first: our end (O_NONBLOCK), second: the child's
  // end (blocking; the child's libuv sets O_NONBLOCK itself; spawn() dup2s it onto fd 3, which
  // clears CLOEXEC there).
  static Result<std::pair<UniqueFd, UniqueFd>> make_pair();

  // Starts reading `fd` (made non-blocking) on `loop`.
  static Result<std::unique_ptr<Channel>> open(uv_loop_t* loop, UniqueFd fd, Callbacks callbacks);

  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel();  // immediate close: unsent data and fds are dropped, no callback

  // Queues one message. Fails with EPIPE once closing/closed, ENOBUFS when the queue is full.
  Status send(const nlohmann::json& msg);

  // Sends `inner` wrapped as {"cmd":"NODE_HANDLE","type":type,"msg":inner} with `fd` attached.
  // `type` is one of Node's: "net.Native", "net.Server", "net.Socket", "dgram.Native",
  // "dgram.Socket". `extra` fields (e.g. "dgramType") are merged into the envelope. The
  // channel's reference to the fd is dropped once it has been sent.
  Status send_handle(const nlohmann::json& inner, UniqueFd fd, const std::string& type,
                     const nlohmann::json& extra = nlohmann::json::object());
  Status send_handle(const nlohmann::json& inner, SharedFd fd, const std::string& type,
                     const nlohmann::json& extra = nlohmann::json::object());

  // Graceful close: stop accepting sends, flush the queue, shutdown(SHUT_WR), then read until
  // the peer closes too (Node closes its end on EOF) and call on_close(0).
  void close();

  // Installs the observer of ACK/NACKs for handles we sent (the cluster layer redispatches on
  // NACK). One observer; pass {} to remove it.
  void set_on_handle_result(HandleResultFn fn) { on_handle_result_ = std::move(fn); }

  [[nodiscard]] bool is_open() const noexcept { return state_ == State::open; }
  [[nodiscard]] std::size_t queued_bytes() const noexcept { return queued_bytes_; }
  [[nodiscard]] std::size_t queued_messages() const noexcept { return queue_.size(); }
  [[nodiscard]] std::size_t handles_awaiting_ack() const noexcept { return sent_handles_.size(); }
  void set_max_queued_bytes(std::size_t bytes) noexcept { max_queued_bytes_ = bytes; }
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }

 private:
  enum class State { open, closing, shut_down, closed };

  struct Outgoing {
    std::string bytes;            // the line, '\n' included
    std::size_t offset = 0;       // bytes already written
    SharedFd fd;                  // sent with the first sendmsg of this line, then dropped
    nlohmann::json handle_inner;  // for NODE_HANDLE lines: the inner message (ACK bookkeeping)
  };

  Channel(uv_loop_t* loop, UniqueFd fd, Callbacks callbacks);
  Status start();
  Status enqueue(Outgoing item);
  void on_poll(int status, int events);
  void read_some();
  void flush();
  void update_poll();
  void handle_line(const std::string& line);
  void finish(int error);
  void send_internal(const char* cmd);

  uv_loop_t* loop_;
  UniqueFd fd_;  // declared before poll_: the poll handle is closed first
  UvHandle<uv_poll_t> poll_;
  Callbacks callbacks_;
  HandleResultFn on_handle_result_;
  LineFramer framer_;
  std::deque<UniqueFd> received_fds_;  // arrival order; one per NODE_HANDLE line
  std::deque<Outgoing> queue_;
  std::deque<nlohmann::json> sent_handles_;  // awaiting the peer's ACK/NACK, in send order
  std::size_t queued_bytes_ = 0;
  std::size_t max_queued_bytes_ = kDefaultMaxQueuedBytes;
  State state_ = State::open;
  int poll_events_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace drove::ipc
