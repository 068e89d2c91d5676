// Apps' lines to the runtime's stdout/stderr; see stdio_forwarder.hpp.
#include "daemon/stdio_forwarder.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.hpp"
#include "base/loop_barrier.hpp"
#include "logs/json_line.hpp"
#include "logs/timestamp_format.hpp"

namespace drove::daemon {

StdioForwarder::StdioForwarder(uv_loop_t* loop, logs::LogManager& logs, Options options)
    : loop_(loop), logs_(logs), options_(options) {
  open_sink(out_, options_.out_fd);
  open_sink(err_, options_.err_fd);
  // Lines read in one turn of the loop leave in one write per fd, after the turn's I/O.
  batch_ = UvHandle<uv_check_t>::make();
  uv_check_init(loop_, batch_.get());
  batch_->data = this;
  uv_unref(batch_.handle());
  uv_check_start(batch_.get(), [](uv_check_t* handle) {
    loop_barrier("stdio forwarder", [handle] {
      if (auto* self = owner_of<StdioForwarder>(handle)) self->flush_batched();
    });
  });
  token_ = logs_.subscribe([this](const logs::LogLine& line) { on_line(line); });
}

void StdioForwarder::flush_batched() {
  for (Sink* sink : {&out_, &err_}) {
    if (sink->dirty && !sink->polling) flush(*sink);
    sink->dirty = false;
  }
}

StdioForwarder::~StdioForwarder() {
  logs_.unsubscribe(token_);
  batch_ = {};
  if (pressure_) logs_.set_subscriber_pressure(false);
  for (Sink* sink : {&out_, &err_}) {
    sink->poll = {};
    // Blocking from here: poll for room rather than flip the shared descriptor's flags.
    while (!sink->queue.empty()) {
      const ssize_t n = sink->kind == Kind::socket
                            ? ::send(sink->fd, sink->queue.data(), sink->queue.size(), MSG_NOSIGNAL)
                            : ::write(sink->fd, sink->queue.data(), sink->queue.size());
      if (n > 0) {
        sink->queue.erase(0, static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        pollfd pfd{sink->fd, POLLOUT, 0};
        if (::poll(&pfd, 1, 5000) <= 0) break;  // a reader gone silent for 5 s: give up
      } else {
        break;  // the reader closed its end
      }
    }
  }
}

void StdioForwarder::render(std::string& out, LineStyle style, const logs::LogLine& line) {
  switch (style) {
    case LineStyle::raw:
      out.append(line.text);
      break;
    case LineStyle::prefixed:
      out.append(std::to_string(line.instance_id)).append("|").append(line.app_name).append(" | ").append(line.text);
      break;
    case LineStyle::json: {
      // Each piece is a whole JSON line of its own, so "message" always ends the line.
      const std::string ts = logs::format_timestamp(logs::kIsoUtcFormat, line.timestamp_ms, 0);
      logs::append_json_line(out, {.message = line.text,
                                   .ends_line = true,
                                   .timestamp = ts,
                                   .is_err = line.is_err,
                                   .process_id = line.instance_id,
                                   .app_name = line.app_name});
      return;  // append_json_line ends the line
    }
  }
  out.push_back('\n');
}

void StdioForwarder::open_sink(Sink& sink, int fd) {
  sink.owner = this;
  sink.fd = fd;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return;  // closed: writes fail and are dropped (nobody reads)
  if (S_ISSOCK(st.st_mode)) {
    sink.kind = Kind::socket;
  } else if (S_ISFIFO(st.st_mode)) {
    // A new open file description of the same pipe: O_NONBLOCK on it is ours alone (the
    // descriptor we inherited is shared with whoever started us).
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    UniqueFd own(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!own) {
      log_warn("stdout/stderr pipe (fd {}) cannot be reopened ({}): writing to it blocking", fd, std::strerror(errno));
      return;
    }
    sink.reopened = std::move(own);
    sink.fd = sink.reopened.get();
    sink.kind = Kind::fifo;
  }
  if (sink.kind == Kind::direct) return;
  sink.poll = UvHandle<uv_poll_t>::make();
  if (uv_poll_init(loop_, sink.poll.get(), sink.fd) != 0) {
    sink.poll = {};
    sink.kind = Kind::direct;
    return;
  }
  sink.poll->data = &sink;
}

void StdioForwarder::on_line(const logs::LogLine& line) {
  Sink& sink = line.is_err ? err_ : out_;
  line_.clear();
  render(line_, options_.style, line);
  sink.queue.append(line_);
  sink.dirty = true;
  update_pressure();
}

void StdioForwarder::flush(Sink& sink) {
  std::size_t head = 0;  // written so far: erased once, not per write
  while (head < sink.queue.size()) {
    const char* data = sink.queue.data() + head;
    const std::size_t size = sink.queue.size() - head;
    const ssize_t n = sink.kind == Kind::socket ? ::send(sink.fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL)
                                                : ::write(sink.fd, data, size);
    if (n > 0) {
      head += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && sink.poll) break;  // wait for room
    // The reader is gone (EPIPE) or the fd is unusable: nobody will ever read these bytes.
    head = sink.queue.size();
    break;
  }
  sink.queue.erase(0, head);
  if (sink.poll) {
    const bool want = !sink.queue.empty();
    if (want && !sink.polling) {
      uv_poll_start(sink.poll.get(), UV_WRITABLE, [](uv_poll_t* handle, int /*status*/, int /*events*/) {
        loop_barrier("stdio forwarder", [handle] {
          auto* s = owner_of<Sink>(handle);
          if (s != nullptr) s->owner->flush(*s);
        });
      });
    } else if (!want && sink.polling) {
      uv_poll_stop(sink.poll.get());
    }
    sink.polling = want;
  }
  update_pressure();
}

void StdioForwarder::update_pressure() {
  const std::size_t queued = queued_bytes();
  if (!pressure_ && queued > options_.high_bytes) {
    pressure_ = true;
    logs_.set_subscriber_pressure(true);
  } else if (pressure_ && queued < options_.low_bytes) {
    pressure_ = false;
    logs_.set_subscriber_pressure(false);
  }
}

}  // namespace drove::daemon
