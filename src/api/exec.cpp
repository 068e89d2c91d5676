// exec() / exec_file(): run to completion on the loop, collecting output, with Node's timeout
// and maxBuffer (both end in kill_signal and an error in the result, as in Node).
#include <memory>

#include "api/child_state.hpp"

namespace drove {
namespace {

struct Collected {
  ExecResult result;
  ExecOptions options;
  Timer timeout;
  std::weak_ptr<Child::State> child;

  void fail(SysError error) {
    if (result.error) return;
    result.error = std::move(error);
    auto s = child.lock();
    if (!s) return;
    if (s->pid > 0 && !s->exit) ::kill(s->pid, options.kill_signal);
    // As Node does, stop reading too: a grandchild of the shell that still holds the pipes gets
    // SIGPIPE instead of keeping the call from completing.
    s->out.reset();
    s->err.reset();
    s->maybe_close();
  }
  void append(std::string& to, std::string_view chunk, const char* stream) {
    if (result.error && result.error->code == ENOBUFS) return;
    const std::size_t room = options.max_buffer > to.size() ? options.max_buffer - to.size() : 0;
    to.append(chunk.substr(0, room));
    if (chunk.size() > room) fail(SysError{ENOBUFS, std::string("max_buffer exceeded on ") + stream});
  }
};

Result<Child> run_collecting(EventLoop& loop, const std::string& file, std::vector<std::string> argv, ExecCallback done,
                             ExecOptions options) {
  SpawnOptions spawn_options{
      .env = options.env, .cwd = options.cwd, .stdio = {Stdio::ignore(), Stdio::pipe(), Stdio::pipe()}};
  auto child = start_child(loop, file, std::move(argv), spawn_options, false, {});
  if (!child.ok()) return child.error();
  auto c = std::make_shared<Collected>();
  c->options = std::move(options);
  c->child = ChildAccess::state(child.value());
  child->on_stdout([c](std::string_view chunk) { c->append(c->result.out, chunk, "stdout"); });
  child->on_stderr([c](std::string_view chunk) { c->append(c->result.err, chunk, "stderr"); });
  if (c->options.timeout_ms > 0) {
    std::weak_ptr<Collected> weak = c;
    c->timeout = loop.set_timer(c->options.timeout_ms, [weak] {
      if (auto self = weak.lock()) self->fail(SysError{ETIMEDOUT, "timed out"});
    });
  }
  child->on_close([c, done = std::move(done)](ExitInfo exit) {
    c->timeout.cancel();
    c->result.exit = exit;
    if (done) done(std::move(c->result));
  });
  return child;
}

}  // namespace

Result<Child> exec(EventLoop& loop, const std::string& command, ExecCallback done, ExecOptions options) {
  const std::string shell = options.shell;
  return run_collecting(loop, shell, {shell, "-c", command}, std::move(done), std::move(options));
}

Result<Child> exec_file(EventLoop& loop, const std::string& file, const std::vector<std::string>& args,
                        ExecCallback done, ExecOptions options) {
  std::vector<std::string> argv{file};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_collecting(loop, file, std::move(argv), std::move(done), std::move(options));
}

}  // namespace drove
