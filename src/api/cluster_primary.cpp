// cluster::Primary and cluster::Worker: Node's cluster primary for C++ programs, on the engine's
// ClusterPrimary (the daemon's own), with one forked child (channel on fd 3) per worker.
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <map>

#include "api/channel_impl.hpp"
#include "api/child_state.hpp"
#include "cluster/cluster_primary.hpp"
#include "drove/cluster.hpp"

namespace drove::cluster {
namespace {

LoadBalance to_engine(SchedulingPolicy p) {
  switch (p) {
    case SchedulingPolicy::round_robin:
      return LoadBalance::round_robin;
    case SchedulingPolicy::shared:
      return LoadBalance::shared;
    case SchedulingPolicy::reuseport:
      return LoadBalance::reuseport;
    case SchedulingPolicy::least_connections:
      return LoadBalance::least_connections;
  }
  return LoadBalance::round_robin;
}

std::string self_executable() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("/proc/self/exe");
}

Address address_from_listening(const ipc::WorkerListening& msg) {
  Address a;
  a.address = msg.address.value_or("");
  a.family = msg.address_type == 6 ? "IPv6" : "IPv4";
  a.port = msg.port;
  return a;
}

}  // namespace

struct Worker::Impl {
  std::weak_ptr<Primary::Impl> primary;
  int id = 0;
  Child child;
  bool online = false;
  bool disconnect_requested = false;
  std::vector<std::function<void()>> on_online, on_disconnect;
  std::vector<std::function<void(Address)>> on_listening;
  std::vector<std::function<void(nlohmann::json, UniqueFd)>> on_message;
  std::vector<std::function<void(ExitInfo)>> on_exit;
};

struct Primary::Impl : std::enable_shared_from_this<Primary::Impl> {
  EventLoop* loop = nullptr;
  Settings settings;
  std::unique_ptr<ClusterPrimary> engine;
  std::map<int, std::unique_ptr<Worker>> workers;
  int next_id = 1;
  std::vector<std::function<void(Worker&)>> on_fork, on_online, on_disconnect;
  std::vector<std::function<void(Worker&, Address)>> on_listening;
  std::vector<std::function<void(Worker&, nlohmann::json, UniqueFd)>> on_message;
  std::vector<std::function<void(Worker&, ExitInfo)>> on_exit;
  std::function<void()> all_gone;

  Worker* find(int id) {
    auto it = workers.find(id);
    return it == workers.end() ? nullptr : it->second.get();
  }
  Worker::Impl& impl_of(Worker& w);
  void online(int id);
  void listening(int id, const ipc::WorkerListening& msg);
  void message(int id, nlohmann::json msg, UniqueFd fd);
  void channel_closed(int id);
  void exited(int id, ExitInfo info);
  void closed(int id);
};

// ---- Worker --------------------------------------------------------------------------------

Worker::Worker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Worker::~Worker() = default;
int Worker::id() const { return impl_->id; }
pid_t Worker::pid() const { return impl_->child.pid(); }
bool Worker::is_connected() const { return impl_->child.connected(); }
bool Worker::is_dead() const { return !impl_->child.running(); }
bool Worker::exited_after_disconnect() const { return impl_->disconnect_requested; }
Child& Worker::process() { return impl_->child; }
Status Worker::send(const nlohmann::json& message) { return impl_->child.send(message); }
Status Worker::send(const nlohmann::json& message, UniqueFd fd, HandleType type) {
  return impl_->child.send(message, std::move(fd), type);
}

void Worker::disconnect() {
  impl_->disconnect_requested = true;
  auto p = impl_->primary.lock();
  if (p && p->engine && impl_->child.connected()) {
    p->engine->disconnect(impl_->id);
  } else {
    impl_->child.disconnect();
  }
}

Status Worker::kill(int signal) { return impl_->child.kill(signal); }
void Worker::on_online(std::function<void()> fn) { impl_->on_online.push_back(std::move(fn)); }
void Worker::on_listening(std::function<void(Address)> fn) { impl_->on_listening.push_back(std::move(fn)); }
void Worker::on_message(std::function<void(nlohmann::json, UniqueFd)> fn) {
  impl_->on_message.push_back(std::move(fn));
}
void Worker::on_disconnect(std::function<void()> fn) { impl_->on_disconnect.push_back(std::move(fn)); }
void Worker::on_exit(std::function<void(ExitInfo)> fn) { impl_->on_exit.push_back(std::move(fn)); }

// ---- Primary -------------------------------------------------------------------------------

void Primary::Impl::online(int id) {
  Worker* w = find(id);
  if (!w) return;
  w->impl().online = true;
  auto keep = shared_from_this();
  for (auto fns = w->impl().on_online; auto& fn : fns) fn();
  for (auto fns = on_online; auto& fn : fns) fn(*w);
}

void Primary::Impl::listening(int id, const ipc::WorkerListening& msg) {
  Worker* w = find(id);
  if (!w) return;
  const Address address = address_from_listening(msg);
  for (auto fns = w->impl().on_listening; auto& fn : fns) fn(address);
  for (auto fns = on_listening; auto& fn : fns) fn(*w, address);
}

void Primary::Impl::message(int id, nlohmann::json msg, UniqueFd fd) {
  Worker* w = find(id);
  if (!w) return;
  // The first listener given the message gets the fd (if any), as with Node's handle argument.
  for (auto fns = w->impl().on_message; auto& fn : fns) fn(msg, std::move(fd));
  for (auto fns = on_message; auto& fn : fns) fn(*w, msg, std::move(fd));
}

void Primary::Impl::channel_closed(int id) {
  if (engine) engine->remove_worker(id);
  Worker* w = find(id);
  if (!w) return;
  for (auto fns = w->impl().on_disconnect; auto& fn : fns) fn();
  for (auto fns = on_disconnect; auto& fn : fns) fn(*w);
}

void Primary::Impl::exited(int id, ExitInfo info) {
  // Connections handed over but not yet received go to the other workers now.
  if (engine) engine->remove_worker(id);
  Worker* w = find(id);
  if (!w) return;
  for (auto fns = w->impl().on_exit; auto& fn : fns) fn(info);
  for (auto fns = on_exit; auto& fn : fns) fn(*w, info);
}

void Primary::Impl::closed(int id) {
  workers.erase(id);
  if (workers.empty() && all_gone) {
    auto fn = std::move(all_gone);
    all_gone = nullptr;
    fn();
  }
}

Primary::Primary(EventLoop& loop, Settings settings) : impl_(std::make_shared<Impl>()) {
  impl_->loop = &loop;
  impl_->settings = std::move(settings);
  std::weak_ptr<Impl> weak = impl_;
  impl_->engine =
      std::make_unique<ClusterPrimary>(loop.native(), to_engine(impl_->settings.policy),
                                       ClusterPrimary::Events{.on_listening =
                                                                  [weak](WorkerId id, const ipc::WorkerListening& msg) {
                                                                    if (auto p = weak.lock()) p->listening(id, msg);
                                                                  },
                                                              .on_online =
                                                                  [weak](WorkerId id) {
                                                                    if (auto p = weak.lock()) p->online(id);
                                                                  },
                                                              .on_exited_after_disconnect =
                                                                  [weak](WorkerId id) {
                                                                    auto p = weak.lock();
                                                                    if (Worker* w = p ? p->find(id) : nullptr)
                                                                      w->impl().disconnect_requested = true;
                                                                  },
                                                              .on_bind_error = nullptr});
}

Primary::~Primary() {
  // Workers see their channel close and, being cluster workers, exit; their processes are
  // still reaped by the loop.
  for (auto& [id, w] : impl_->workers) {
    impl_->engine->remove_worker(id);
    if (Channel* ch = w->process().channel()) {
      ch->impl()->intercept = nullptr;
      ch->disconnect();
    }
  }
  impl_->workers.clear();
  impl_->engine.reset();
}

Result<Worker*> Primary::fork(const Environment& env) {
  const Settings& s = impl_->settings;
  const int id = impl_->next_id++;
  std::string module = s.exec.empty() ? self_executable() : s.exec;
  ForkOptions options;
  options.exec_path = s.exec_path;
  options.spawn.cwd = s.cwd;
  if (s.silent) options.spawn.stdio = {Stdio::ignore(), Stdio::pipe(), Stdio::pipe()};
  Environment child_env = current_environment();
  for (const auto& [k, v] : env) child_env[k] = v;
  options.spawn.env = std::move(child_env);

  // fork() as in drove::fork, plus NODE_UNIQUE_ID: that is what makes the child a worker.
  std::string program = options.exec_path;
  auto is_js = [](const std::string& m) {
    for (const char* ext : {".js", ".mjs", ".cjs"}) {
      const std::string e(ext);
      if (m.size() >= e.size() && m.compare(m.size() - e.size(), e.size(), e) == 0) return true;
    }
    return false;
  };
  if (program.empty() && is_js(module)) program = "node";
  std::vector<std::string> argv;
  if (program.empty()) {
    program = module;
    argv.push_back(module);
  } else {
    argv = {program, module};
  }
  argv.insert(argv.end(), s.args.begin(), s.args.end());
  auto child = start_child(*impl_->loop, program, std::move(argv), options.spawn, true,
                           {{"NODE_UNIQUE_ID", std::to_string(id)}});
  if (!child.ok()) return child.error();

  auto wi = std::make_unique<Worker::Impl>();
  wi->primary = impl_;
  wi->id = id;
  wi->child = std::move(child.value());
  auto worker = std::make_unique<Worker>(std::move(wi));
  Worker* raw = worker.get();
  impl_->workers[id] = std::move(worker);

  std::weak_ptr<Impl> weak = impl_;
  Channel* channel = raw->process().channel();
  if (channel) {
    channel->impl()->intercept = [weak, id](const nlohmann::json& m, UniqueFd& fd) {
      auto p = weak.lock();
      return p && p->engine && p->engine->handle_message(id, m, fd);
    };
    channel->on_message([weak, id](nlohmann::json m, UniqueFd fd) {
      if (auto p = weak.lock()) p->message(id, std::move(m), std::move(fd));
    });
    channel->on_disconnect([weak, id] {
      if (auto p = weak.lock()) p->channel_closed(id);
    });
    impl_->engine->add_worker(id, channel->impl()->channel.get(), id);
  }
  raw->process().on_exit([weak, id](ExitInfo info) {
    if (auto p = weak.lock()) p->exited(id, info);
  });
  raw->process().on_close([weak, id](ExitInfo) {
    if (auto p = weak.lock()) p->closed(id);
  });
  for (auto fns = impl_->on_fork; auto& fn : fns) fn(*raw);
  return raw;
}

std::vector<Worker*> Primary::workers() const {
  std::vector<Worker*> out;
  for (const auto& [id, w] : impl_->workers) out.push_back(w.get());
  return out;
}

void Primary::disconnect(std::function<void()> done) {
  impl_->all_gone = std::move(done);
  if (impl_->workers.empty()) {
    impl_->closed(0);
    return;
  }
  for (Worker* w : workers()) w->disconnect();
}

void Primary::on_fork(std::function<void(Worker&)> fn) { impl_->on_fork.push_back(std::move(fn)); }
void Primary::on_online(std::function<void(Worker&)> fn) { impl_->on_online.push_back(std::move(fn)); }
void Primary::on_listening(std::function<void(Worker&, Address)> fn) { impl_->on_listening.push_back(std::move(fn)); }
void Primary::on_message(std::function<void(Worker&, nlohmann::json, UniqueFd)> fn) {
  impl_->on_message.push_back(std::move(fn));
}
void Primary::on_disconnect(std::function<void(Worker&)> fn) { impl_->on_disconnect.push_back(std::move(fn)); }
void Primary::on_exit(std::function<void(Worker&, ExitInfo)> fn) { impl_->on_exit.push_back(std::move(fn)); }

}  // namespace drove::cluster
