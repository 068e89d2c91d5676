#include "api/parent_link.hpp"

#include <cstdlib>

#include "api/channel_impl.hpp"
#include "base/log.hpp"

namespace drove::detail {
namespace {

std::unique_ptr<ParentLink>& the_link() {
  static std::unique_ptr<ParentLink> link;
  return link;
}

cluster::Address address_of(const nlohmann::json& sockname, int requested_port) {
  cluster::Address a;
  a.port = requested_port;
  if (sockname.is_object()) {
    a.address = sockname.value("address", "");
    a.family = sockname.value("family", "");
    a.port = sockname.value("port", requested_port);
  }
  return a;
}

}  // namespace

int initial_unique_id() {
  static const int id = [] {
    const char* text = std::getenv("NODE_UNIQUE_ID");
    return text ? std::atoi(text) : 0;
  }();
  return id;
}

ParentLink* ParentLink::get(EventLoop& loop) {
  auto& link = the_link();
  if (link) return link->core_ == &loop.core() ? link.get() : nullptr;
  const int unique_id = initial_unique_id();
  if (!Channel::has_parent()) return nullptr;
  auto channel = Channel::from_parent(loop);
  if (!channel.ok()) {
    log_warn("cannot open the parent channel: {}", channel.error().message());
    return nullptr;
  }
  ::unsetenv("NODE_UNIQUE_ID");
  link.reset(new ParentLink());
  ParentLink* self = link.get();
  self->core_ = &loop.core();
  loop.core().resources.insert(self);
  self->channel_ = std::move(channel.value());
  Channel::Impl* impl = self->channel_.impl();
  impl->intercept = [self](const nlohmann::json& m, UniqueFd& fd) { return self->intercept(m, fd); };
  self->channel_.on_message([self](nlohmann::json m, UniqueFd fd) { self->deliver(std::move(m), std::move(fd)); });
  self->channel_.on_disconnect([self] {
    // As Node's cluster worker does: a channel that closes without the primary having asked
    // (the primary died, was killed, or closed it) ends the worker once the disconnect callbacks
    // have run, with code 0. Otherwise workers would outlive their primary, reparented to init.
    const bool primary_gone = self->worker_ != nullptr && !self->disconnected_;
    self->disconnected();
    if (primary_gone) std::exit(0);
  });
  if (unique_id != 0) {
    self->worker_ = std::make_unique<cluster::ClusterWorker>(
        impl->channel.get(), cluster::ClusterWorker::Callbacks{
                                 .on_connection =
                                     [self](const std::string& key, UniqueFd conn) {
                                       auto it = self->servers_.find(key);
                                       if (it != self->servers_.end() && it->second.callbacks.on_connection) {
                                         auto fn = it->second.callbacks.on_connection;
                                         fn(std::move(conn));
                                       }
                                     },
                                 .on_listening_socket =
                                     [self](const std::string& key, UniqueFd listening) {
                                       auto it = self->servers_.find(key);
                                       if (it == self->servers_.end()) return;
                                       it->second.acceptor = std::make_unique<Acceptor>(
                                           *self->core_, std::move(listening), it->second.callbacks.on_connection);
                                     },
                                 .on_listening =
                                     [self](const std::string& key, const nlohmann::json& sockname) {
                                       auto it = self->servers_.find(key);
                                       if (it == self->servers_.end() || !it->second.callbacks.on_listening) return;
                                       int port = 0;
                                       if (it->second.acceptor) port = it->second.acceptor->port();
                                       auto address = address_of(sockname, port);
                                       if (address.port == 0) address.port = port;
                                       auto fn = it->second.callbacks.on_listening;
                                       fn(address);
                                     },
                                 .on_error =
                                     [self](const std::string& key, int negative_errno) {
                                       auto it = self->servers_.find(key);
                                       if (it == self->servers_.end()) return;
                                       auto fn = it->second.callbacks.on_error;
                                       self->servers_.erase(it);
                                       if (fn) fn(SysError{-negative_errno, "listen " + key});
                                     },
                                 .on_disconnect =
                                     [self] {
                                       // The primary asked us to stop: servers are closed (close sent); then the
                                       // channel, once our callbacks have run, as Node's worker does.
                                       self->servers_.clear();
                                       self->disconnected();
                                       self->channel_.disconnect();
                                     },
                             });
    self->worker_->start();
  }
  return self;
}

Status ParentLink::send(const nlohmann::json& message) { return channel_.send(message); }

void ParentLink::listen(std::optional<std::string> address, int port, cluster::ListenCallbacks callbacks) {
  const std::string key = worker_->listen_tcp(std::move(address), port);
  servers_[key] = Server{std::move(callbacks), nullptr};
}

void ParentLink::close_servers() {
  if (worker_) {
    for (const auto& [key, server] : servers_) worker_->close_server(key);
  }
  servers_.clear();
}

bool ParentLink::intercept(const nlohmann::json& message, UniqueFd& fd) {
  if (worker_ && worker_->handle_message(message, fd)) return true;
  if (message == "shutdown" && on_shutdown_message) {
    auto fn = on_shutdown_message;
    fn();
    return true;
  }
  return false;
}

void ParentLink::deliver(nlohmann::json message, UniqueFd fd) {
  auto fns = on_message;
  if (fns.size() == 1) {
    fns[0](std::move(message), std::move(fd));
    return;
  }
  // Several listeners: the first that is given the fd owns it.
  for (auto& fn : fns) fn(message, std::move(fd));
}

void ParentLink::disconnected() {
  if (disconnected_) return;
  disconnected_ = true;
  servers_.clear();
  auto fns = on_disconnect;
  for (auto& fn : fns) fn();
}

void ParentLink::shutdown() {
  servers_.clear();
  worker_.reset();
  channel_ = Channel();
  if (core_) core_->resources.erase(this);
  core_ = nullptr;
}

}  // namespace drove::detail
