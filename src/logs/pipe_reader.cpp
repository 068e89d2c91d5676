// Non-blocking pipe draining on the loop; see pipe_reader.hpp.
#include "logs/pipe_reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "base/log.hpp"
#include "base/loop_barrier.hpp"

namespace drove::logs {
namespace {
// Reads per wake-up before yielding to other handles: fairness between chatty instances.
constexpr int kReadsPerWakeup = 16;
}  // namespace

PipeReader::PipeReader(uv_loop_t* loop, UniqueFd fd, ReadBuffer buffer, Callbacks callbacks)
    : fd_(std::move(fd)), buffer_(std::move(buffer)), callbacks_(std::move(callbacks)) {
  if (!fd_) {
    at_eof_ = true;
    return;
  }
  const int flags = ::fcntl(fd_.get(), F_GETFL);
  if (flags >= 0) ::fcntl(fd_.get(), F_SETFL, flags | O_NONBLOCK);
  poll_ = UvHandle<uv_poll_t>::make();
  if (const int rc = uv_poll_init(loop, poll_.get(), fd_.get()); rc != 0) {
    log_error("logs: cannot watch output descriptor {}: {}", fd_.get(), uv_strerror(rc));
    poll_ = UvHandle<uv_poll_t>();
    fd_.reset();
    at_eof_ = true;  // reported by the owner as an ended stream
    return;
  }
  poll_->data = this;
  start_polling();
}

void PipeReader::start_polling() {
  polling_ = uv_poll_start(poll_.get(), UV_READABLE | UV_DISCONNECT, [](uv_poll_t* handle, int, int) {
               // An error status (POLLERR) needs no case of its own: read() below reports it or sees EOF.
               loop_barrier("output pipe reader", [handle] {
                 if (auto* self = owner_of<PipeReader>(handle)) self->on_readable();
               });
             }) == 0;
}

void PipeReader::pause() {
  if (++pause_count_ == 1 && polling_) {
    uv_poll_stop(poll_.get());
    polling_ = false;
  }
}

void PipeReader::resume() {
  if (pause_count_ == 0 || --pause_count_ > 0 || at_eof_ || !poll_) return;
  start_polling();
  // Data may have arrived while paused without a new edge; libuv polls level-triggered, so the
  // next loop iteration reports it.
}

void PipeReader::on_readable() {
  std::vector<char>& buffer = *buffer_;
  for (int i = 0; i < kReadsPerWakeup && !at_eof_ && !paused(); ++i) {
    const ssize_t n = ::read(fd_.get(), buffer.data(), buffer.size());
    if (n > 0) {
      bytes_read_ += static_cast<std::uint64_t>(n);
      callbacks_.on_data(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      if (static_cast<std::size_t>(n) < buffer.size()) return;  // drained for now
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) log_warn("logs: reading an app's output: {}", std::strerror(errno));
    finish();
    return;
  }
}

void PipeReader::finish() {
  at_eof_ = true;
  poll_.close();
  polling_ = false;
  fd_.reset();
  callbacks_.on_eof();  // last: the owner may react by destroying this reader
}

}  // namespace drove::logs
