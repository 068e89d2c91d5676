#include "supervisor/stdin_writer.hpp"

#include <cerrno>

namespace drove::supervisor {
namespace {

// One queued write: the request and the bytes it points to, freed by its callback (which runs
// even when the handle is closed first, with UV_ECANCELED); req.data points back to it.
struct PendingWrite {
  uv_write_t req;
  std::string bytes;
};

}  // namespace

Result<std::unique_ptr<StdinWriter>> StdinWriter::open(uv_loop_t* loop, UniqueFd write_end) {
  std::unique_ptr<StdinWriter> writer(new StdinWriter());
  writer->pipe_ = UvHandle<uv_pipe_t>::make();
  if (const int rc = uv_pipe_init(loop, writer->pipe_.get(), 0); rc != 0) return SysError{-rc, "stdin pipe"};
  if (const int rc = uv_pipe_open(writer->pipe_.get(), write_end.get()); rc != 0) return SysError{-rc, "stdin pipe"};
  (void)write_end.release();  // the handle owns it now
  return writer;
}

int StdinWriter::fd() const noexcept {
  uv_os_fd_t fd = -1;
  if (!pipe_ || uv_fileno(reinterpret_cast<const uv_handle_t*>(pipe_.get()), &fd) != 0) return -1;
  return fd;
}

Status StdinWriter::write(std::string bytes) {
  auto* stream = reinterpret_cast<uv_stream_t*>(pipe_.get());
  if (!uv_is_writable(stream)) return SysError{EPIPE, "its stdin is closed"};
  if (uv_stream_get_write_queue_size(stream) + bytes.size() > kMaxQueuedBytes) {
    return SysError{EAGAIN, "it has not read the last " + std::to_string(uv_stream_get_write_queue_size(stream)) +
                                " bytes sent to its stdin"};
  }
  auto* pending = new PendingWrite{{}, std::move(bytes)};
  pending->req.data = pending;
  uv_buf_t buf = uv_buf_init(pending->bytes.data(), static_cast<unsigned>(pending->bytes.size()));
  const int rc = uv_write(&pending->req, stream, &buf, 1,
                          [](uv_write_t* req, int) { delete static_cast<PendingWrite*>(req->data); });
  if (rc != 0) {
    delete pending;
    return SysError{-rc, "write to its stdin"};
  }
  return Ok{};
}

}  // namespace drove::supervisor
