// Child: the handle of a started process (output, exit, signals, IPC) and its loop-side state.
#include <signal.h>

#include "api/channel_impl.hpp"
#include "api/child_state.hpp"

namespace drove {
namespace {

constexpr std::size_t kReadBufferBytes = 64 * 1024;

void on_read(uv_stream_t* stream, ssize_t n, const uv_buf_t*) {
  auto* reader = owner_of<Child::State::Reader>(stream);
  if (!reader) return;
  Child::State* s = reader->owner;
  if (n > 0) {
    auto keep = s->shared_from_this();  // a callback may drop the last Child handle
    const std::string_view chunk(reader->buffer.data(), static_cast<std::size_t>(n));
    auto& fn = reader->stream == 1 ? s->on_stdout : s->on_stderr;
    if (fn) {
      auto copy = fn;
      copy(chunk);
    }
    return;
  }
  if (n == 0) return;
  // EOF or error: the stream is done.
  auto keep = s->shared_from_this();
  (reader->stream == 1 ? s->out : s->err).reset();
  s->maybe_close();
}

}  // namespace

Child::State::~State() { State::shutdown(); }

void Child::State::shutdown() {
  out.reset();
  err.reset();
  in.close();
  channel.reset();
  if (core && pid > 0 && !exit) {
    if (core->reaper) core->reaper->unwatch(pid);
    core->child_reaped();
  }
  core = nullptr;
}

void Child::State::start(const std::shared_ptr<State>& self, UniqueFd out_fd, UniqueFd err_fd, UniqueFd in_fd) {
  auto open_reader = [&](UniqueFd fd, int stream) -> std::unique_ptr<Reader> {
    if (!fd) return nullptr;
    auto r = std::make_unique<Reader>();
    r->owner = this;
    r->stream = stream;
    r->buffer.resize(kReadBufferBytes);
    r->pipe = UvHandle<uv_pipe_t>::make();
    uv_pipe_init(&core->loop, r->pipe.get(), 0);
    r->pipe->data = r.get();
    uv_pipe_open(r->pipe.get(), fd.release());  // the pipe handle owns the fd from here
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(r->pipe.get()),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto* reader = owner_of<Reader>(h);
          *buf = reader ? uv_buf_init(reader->buffer.data(), static_cast<unsigned>(reader->buffer.size()))
                        : uv_buf_init(nullptr, 0);
        },
        on_read);
    return r;
  };
  out = open_reader(std::move(out_fd), 1);
  err = open_reader(std::move(err_fd), 2);
  if (in_fd) {
    in = UvHandle<uv_pipe_t>::make();
    uv_pipe_init(&core->loop, in.get(), 0);
    in->data = this;
    uv_pipe_open(in.get(), in_fd.release());
  }
  core->child_started();
  core->retained.insert(self);
  core->reaper->watch(pid, [self](process::ExitStatus status) { self->exited(ExitInfo{status.code, status.signal}); });
}

void Child::State::exited(ExitInfo info) {
  exit = info;
  if (core) core->child_reaped();
  auto keep = shared_from_this();
  auto fns = on_exit;
  for (auto& fn : fns) fn(info);
  maybe_close();
}

void Child::State::maybe_close() {
  if (close_fired || !exit || out || err) return;
  if (channel && channel->connected()) return;
  close_fired = true;
  auto keep = shared_from_this();
  auto fns = on_close;
  for (auto& fn : fns) fn(*exit);
  in.close();
  if (core) core->retained.erase(keep);
}

void Child::State::close_stdin() {
  if (!in) return;
  if (stdin_writes_pending > 0) {
    stdin_end_requested = true;
    return;
  }
  in.close();
}

Child::Child() = default;
Child::Child(Child&&) noexcept = default;
Child& Child::operator=(Child&&) noexcept = default;
Child::~Child() = default;

pid_t Child::pid() const { return state_ ? state_->pid : 0; }
bool Child::running() const { return state_ && state_->pid > 0 && !state_->exit; }
std::optional<ExitInfo> Child::exit_info() const { return state_ ? state_->exit : std::nullopt; }

void Child::on_stdout(std::function<void(std::string_view)> fn) {
  if (state_) state_->on_stdout = std::move(fn);
}
void Child::on_stderr(std::function<void(std::string_view)> fn) {
  if (state_) state_->on_stderr = std::move(fn);
}

void Child::on_exit(std::function<void(ExitInfo)> fn) {
  if (!state_) return;
  if (state_->exit) {
    fn(*state_->exit);
    return;
  }
  state_->on_exit.push_back(std::move(fn));
}

void Child::on_close(std::function<void(ExitInfo)> fn) {
  if (!state_) return;
  if (state_->close_fired) {
    fn(*state_->exit);
    return;
  }
  state_->on_close.push_back(std::move(fn));
}

Status Child::write_stdin(std::string data) {
  if (!state_ || !state_->in || state_->stdin_end_requested) return SysError{EPIPE, "write to stdin"};
  struct Write {
    uv_write_t req{};
    std::string data;
    std::weak_ptr<State> owner;
  };
  auto* w = new Write{{}, std::move(data), state_};
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  const int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(state_->in.get()), &buf, 1, [](uv_write_t* req, int) {
    auto* write = reinterpret_cast<Write*>(req);  // req is the first member
    if (auto s = write->owner.lock()) {
      if (--s->stdin_writes_pending == 0 && s->stdin_end_requested) s->in.close();
    }
    delete write;
  });
  if (rc != 0) {
    delete w;
    return SysError{-rc, "write to stdin"};
  }
  ++state_->stdin_writes_pending;
  return Ok{};
}

void Child::end_stdin() {
  if (state_) state_->close_stdin();
}

Status Child::kill(int signal) {
  if (!running()) return SysError{ESRCH, "kill"};
  if (::kill(state_->pid, signal) != 0) return last_error("kill " + std::to_string(state_->pid));
  return Ok{};
}

bool Child::connected() const { return state_ && state_->channel && state_->channel->connected(); }

Status Child::send(const nlohmann::json& message) {
  if (!state_ || !state_->channel) return SysError{EPIPE, "send: the child has no channel"};
  return state_->channel->send(message);
}

Status Child::send(const nlohmann::json& message, UniqueFd fd, HandleType type) {
  if (!state_ || !state_->channel) return SysError{EPIPE, "send: the child has no channel"};
  return state_->channel->send(message, std::move(fd), type);
}

void Child::on_message(Channel::MessageFn fn) {
  if (state_ && state_->channel) state_->channel->on_message(std::move(fn));
}

void Child::on_disconnect(std::function<void()> fn) {
  if (state_ && state_->channel) state_->channel->on_disconnect(std::move(fn));
}

void Child::disconnect() {
  if (state_ && state_->channel) state_->channel->disconnect();
}

Channel* Child::channel() { return state_ ? state_->channel.get() : nullptr; }

}  // namespace drove
