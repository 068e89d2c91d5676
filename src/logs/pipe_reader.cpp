// Non-blocking pipe draining on the loop; see pipe_reader.hpp.
#include "logs/pipe_reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/log.hpp"
#include "base/loop_barrier.hpp"

namespace drove::logs {
namespace {
// Reads per wake-up before yielding to other handles: fairness between chatty instances.
constexpr int kReadsPerWakeup = 16;

// The loop thread's scratch pipe for peeking: tee(2) copies into it, read() empties it at once.
struct ScratchPipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

const ScratchPipe& scratch_pipe() {
  thread_local const ScratchPipe pipe = [] {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return ScratchPipe{};
    ScratchPipe made{UniqueFd(fds[0]), UniqueFd(fds[1])};
    // Room for many small buffers of the source pipe (tee copies whole buffers); best effort.
    (void)::fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    return made;
  }();
  return pipe;
}

// Reads exactly `size` bytes the scratch pipe holds.
bool read_scratch(int fd, char* into, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::read(fd, into, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    into += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}
}  // namespace

PipeReader::PipeReader(uv_loop_t* loop, UniqueFd fd, ReadBuffer buffer, Callbacks callbacks)
    : buffer_(std::move(buffer)), callbacks_(std::move(callbacks)) {
  if (!fd) {
    at_eof_ = true;
    return;
  }
  fd_ = std::make_shared<UniqueFd>(std::move(fd));
  // The scratch pipe comes with the first reader that may peek, not with its first output: a
  // daemon's descriptors do not grow later on.
  if (callbacks_.wants_peek) (void)scratch_pipe();
  const int flags = ::fcntl(fd_->get(), F_GETFL);
  if (flags >= 0) ::fcntl(fd_->get(), F_SETFL, flags | O_NONBLOCK);
  poll_ = UvHandle<uv_poll_t>::make();
  if (const int rc = uv_poll_init(loop, poll_.get(), fd_->get()); rc != 0) {
    log_error("logs: cannot watch output descriptor {}: {}", fd_->get(), uv_strerror(rc));
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
  if (at_eof_ || paused()) return;
  if (!peek_unsupported_ && callbacks_.wants_peek && callbacks_.wants_peek()) {
    peek();
  } else {
    read_some(buffer_->size());
  }
}

void PipeReader::peek() {
  const ScratchPipe& scratch = scratch_pipe();
  if (!scratch.write_end) {
    peek_unsupported_ = true;
    return read_some(buffer_->size());
  }
  std::vector<char>& buffer = *buffer_;
  for (;;) {
    const ssize_t n = ::tee(fd_->get(), scratch.write_end.get(), buffer.size(), SPLICE_F_NONBLOCK);
    if (n > 0) {
      if (!read_scratch(scratch.read_end.get(), buffer.data(), static_cast<std::size_t>(n))) {
        // Cannot happen with a pipe we alone use; if it did, its contents are unknown: stop peeking.
        log_warn("logs: the scratch pipe for peeking failed: {}; reading app output instead", std::strerror(errno));
        peek_unsupported_ = true;
        return;
      }
      bytes_read_ += static_cast<std::uint64_t>(n);
      const std::size_t read_after_all =
          callbacks_.on_peek(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      if (read_after_all > 0 && !at_eof_) {
        bytes_read_ -= read_after_all;  // counted again when read
        read_some(read_after_all);
      }
      return;
    }
    if (n == 0) return finish();  // no writer left and nothing in the pipe
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (errno == EINVAL) {
      peek_unsupported_ = true;  // not a pipe: plain reads, as before peeking existed
      return read_some(buffer.size());
    }
    log_warn("logs: reading an app's output: {}", std::strerror(errno));
    return finish();
  }
}

void PipeReader::read_some(std::size_t at_most) {
  std::vector<char>& buffer = *buffer_;
  at_most = std::min(at_most, buffer.size());
  for (int i = 0; i < kReadsPerWakeup && !at_eof_ && !paused(); ++i) {
    const ssize_t n = ::read(fd_->get(), buffer.data(), at_most);
    if (n > 0) {
      bytes_read_ += static_cast<std::uint64_t>(n);
      callbacks_.on_data(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      if (static_cast<std::size_t>(n) < buffer.size()) return;  // drained for now (or all that was asked)
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
