#include "cluster/cluster_primary.hpp"
#include "cluster/cluster_primary_state.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <variant>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/loop_barrier.hpp"
#include "cluster/scheduler.hpp"
#include "cluster/socket_census.hpp"

namespace drove::cluster {

using nlohmann::json;

namespace {

ListenRequest request_for(const ipc::QueryServer& q) {
  ListenRequest r;
  r.address = q.address;
  r.port = q.port;
  switch (q.kind) {
    case ipc::QueryServer::Kind::unix_path:
      r.kind = SocketKind::unix_path;
      r.readable_all = q.readable_all;
      r.writable_all = q.writable_all;
      break;
    case ipc::QueryServer::Kind::udp:
      r.kind = SocketKind::udp;
      r.ipv6_only = (q.flags & 1) != 0;
      r.udp_reuse_addr = (q.flags & 4) != 0;
      break;
    default:
      r.kind = SocketKind::tcp;
      r.ipv6_only = (q.flags & 1) != 0;
      break;
  }
  if (q.backlog > 0) r.backlog = q.backlog;
  return r;
}

}  // namespace

ClusterPrimary::ClusterPrimary(uv_loop_t* loop, LoadBalance policy, Events events)
    : ClusterPrimary(loop, policy, std::move(events), Options{}) {}

ClusterPrimary::ClusterPrimary(uv_loop_t* loop, LoadBalance policy, Events events, Options options)
    : loop_(loop), policy_(policy), events_(std::move(events)), options_(options) {
  tick_ = UvHandle<uv_timer_t>::make();
  uv_timer_init(loop_, tick_.get());
  tick_->data = this;
  const auto period = static_cast<std::uint64_t>(options_.tick_ms);
  uv_timer_start(
      tick_.get(),
      [](uv_timer_t* t) {
        loop_barrier("cluster tick", [t] {
          if (auto* self = owner_of<ClusterPrimary>(t)) self->on_tick();
        });
      },
      period, period);
  uv_unref(tick_.handle());  // housekeeping alone must not keep the loop alive
}

ClusterPrimary::~ClusterPrimary() {
  for (auto& [id, w] : workers_) w->channel->set_on_handle_result({});
  close_all();
}

ClusterPrimary::Worker* ClusterPrimary::find(WorkerId id) {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : it->second.get();
}
const ClusterPrimary::Worker* ClusterPrimary::find(WorkerId id) const {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : it->second.get();
}

void ClusterPrimary::add_worker(WorkerId id, ipc::Channel* channel, int slot) {
  if (find(id) != nullptr) remove_worker(id);
  auto w = std::make_unique<Worker>();
  w->id = id;
  w->channel = channel;
  w->slot = slot < 0 ? id : slot;
  channel->set_on_handle_result([this, id](const json& inner, bool acked) { on_handle_result(id, inner, acked); });
  workers_.emplace(id, std::move(w));
}

bool ClusterPrimary::handle_message(WorkerId id, const json& msg, UniqueFd& fd) {
  auto parsed = ipc::parse_worker_message(msg);
  if (!parsed) return false;
  fd.reset();  // no cluster message from a worker carries a handle
  Worker* w = find(id);
  if (w == nullptr) return true;
  if (auto* error = std::get_if<ipc::ProtocolError>(&*parsed)) {
    if (error->query_seq) {
      (void)w->channel->send(ipc::query_error_reply(error->key, *error->query_seq, -EINVAL, next_seq()));
    }
    if (events_.on_protocol_error) events_.on_protocol_error(id, error->reason);
    return true;
  }
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        (void)m;  // unused by the alternatives without fields
        if constexpr (std::is_same_v<T, ipc::NewconnReply>) {
          on_newconn_reply(*w, m);
        } else if constexpr (std::is_same_v<T, ipc::WorkerOnline>) {
          w->online = true;
          if (events_.on_online) events_.on_online(id);
        } else if constexpr (std::is_same_v<T, ipc::QueryServer>) {
          on_query_server(*w, m);
        } else if constexpr (std::is_same_v<T, ipc::WorkerListening>) {
          // `port` is now the real one; the key was built from the requested one (maybe 0).
          if (w->keys.count(m.key) != 0)
            w->listening.insert(m.key);
          else if (w->keys.count(m.requested_key) != 0)
            w->listening.insert(m.requested_key);
          if (events_.on_listening) events_.on_listening(id, m);
        } else if constexpr (std::is_same_v<T, ipc::WorkerServerClosed>) {
          on_server_closed(*w, m.key);
        } else if constexpr (std::is_same_v<T, ipc::WorkerExitedAfterDisconnect>) {
          w->routable = false;
          (void)w->channel->send(ipc::ack_reply(m.seq, next_seq()));
          refresh_accepting();
          if (events_.on_exited_after_disconnect) events_.on_exited_after_disconnect(id);
        }
      },
      std::get<ipc::WorkerMessage>(*parsed));
  return true;
}

bool ClusterPrimary::accepts_itself(const ServerHandle& h) const {
  return !h.activation && h.listener.fd.valid() && h.request.kind != SocketKind::udp &&
         (policy_ == LoadBalance::round_robin || policy_ == LoadBalance::least_connections);
}

Result<ClusterPrimary::ServerHandle*> ClusterPrimary::server_for(const ipc::QueryServer& q) {
  if (auto it = servers_.find(q.key); it != servers_.end()) return it->second.get();
  auto h = std::make_unique<ServerHandle>();
  h->primary = this;
  h->key = q.key;
  h->request = request_for(q);
  h->port = q.port;
  const bool per_slot = policy_ == LoadBalance::reuseport && h->request.kind == SocketKind::tcp;
  if (!per_slot) {
    auto l = open_for_app(h->request);
    if (!l) return l.error();
    h->listener = std::move(l.value());
    h->port = h->listener.port;
  }
  auto* raw = h.get();
  servers_.emplace(q.key, std::move(h));
  return raw;
}

Result<int> ClusterPrimary::slot_socket(ServerHandle& h, int slot) {
  if (auto it = h.slots.find(slot); it != h.slots.end()) return it->second.fd.get();
  ListenRequest r = h.request;
  r.reuse_port = true;
  r.port = h.port;  // port 0: the first slot picks it, every other slot joins it
  auto l = open_for_app(r);
  if (!l) return l.error();
  h.port = l->port;
  const int fd = l->fd.get();
  h.slots.emplace(slot, std::move(l.value()));
  return fd;
}

void ClusterPrimary::on_query_server(Worker& w, const ipc::QueryServer& q) {
  if (q.kind == ipc::QueryServer::Kind::fd) {
    reply_error(w, q, SysError{ENOTSUP, "listen({fd}) in a drove cluster worker"});
    return;
  }
  if (refuse_past_cap(w, q)) return;
  auto server = server_for(q);
  if (!server) {
    reply_error(w, q, server.error());
    return;
  }
  ServerHandle& h = *server.value();
  int fd = h.listener.fd.get();
  if (policy_ == LoadBalance::reuseport && h.request.kind == SocketKind::tcp) {
    auto s = slot_socket(h, w.slot);
    if (!s) {
      reply_error(w, q, s.error());
      return;
    }
    fd = s.value();
  }
  if (!h.has_data) {
    h.data = q.data;
    h.has_data = true;
  }
  if (std::find(h.workers.begin(), h.workers.end(), w.id) == h.workers.end()) h.workers.push_back(w.id);
  h.unheld_since_ms = 0;
  w.keys.insert(q.key);
  if (accepts_itself(h)) {
    (void)w.channel->send(ipc::rr_reply(q, h.data, h.listener.sockname(), next_seq()));
    drain_held();
    refresh_accepting();
    return;
  }
  reply_with_socket(w, q, h, fd);
}

void ClusterPrimary::reply_with_socket(Worker& w, const ipc::QueryServer& q, const ServerHandle& h, int fd) {
  // The worker gets its own descriptor of the same socket; ours stays for the next worker.
  UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!copy) {
    reply_error(w, q, last_error("dup listening socket"));
    return;
  }
  const bool udp = h.request.kind == SocketKind::udp;
  (void)w.channel->send_handle(ipc::shared_reply(q, h.data, next_seq()), std::move(copy),
                               udp ? "dgram.Native" : "net.Native");
}

void ClusterPrimary::reply_error(Worker& w, const ipc::QueryServer& q, const SysError& error, bool log_it) {
  if (log_it) log_warn("cluster: worker {}: {} ({})", w.id, error.message(), q.key);
  (void)w.channel->send(ipc::error_reply(q, q.data, -error.code, next_seq()));
  json entry = {
      {"key", q.key}, {"worker", w.id}, {"errno", -error.code}, {"message", error.message()}, {"at_ms", wall_ms()}};
  if (bind_errors_.size() >= 32) bind_errors_.erase(bind_errors_.begin());
  bind_errors_.push_back(std::move(entry));
  if (log_it && events_.on_bind_error) events_.on_bind_error(w.id, q.key, -error.code);
}

void ClusterPrimary::on_server_closed(Worker& w, const std::string& key) {
  w.keys.erase(key);
  w.listening.erase(key);
  if (auto it = servers_.find(key); it != servers_.end()) {
    ServerHandle& h = *it->second;
    h.workers.erase(std::remove(h.workers.begin(), h.workers.end(), w.id), h.workers.end());
    if (h.workers.empty() && !h.activation && w.routable) {
      // The app itself closed its last server on this key (server.close() in a worker that
      // keeps running): nobody is coming back for it, so it goes now, as in Node's primary.
      close_server(h);
      servers_.erase(it);
    } else {
      // Closing on the way out (disconnect, reload, stop): the socket stays, its backlog holds
      // connections until a worker listens again, or until unused_listener_close_ms passes.
      mark_if_unheld(h);
    }
  }
  refresh_accepting();
}

std::vector<std::string> ClusterPrimary::listening_keys(WorkerId id) const {
  const Worker* w = find(id);
  if (w == nullptr) return {};
  return {w->listening.begin(), w->listening.end()};
}

bool ClusterPrimary::asked_for_server(WorkerId id) const {
  const Worker* w = find(id);
  return w != nullptr && !w->keys.empty();
}

void ClusterPrimary::stop_routing(WorkerId id) {
  if (Worker* w = find(id)) w->routable = false;
  refresh_accepting();
}

void ClusterPrimary::disconnect(WorkerId id) {
  Worker* w = find(id);
  if (w == nullptr) return;
  w->routable = false;
  (void)w->channel->send(ipc::disconnect_request(next_seq()));
  refresh_accepting();
}

void ClusterPrimary::remove_worker(WorkerId id) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  std::unique_ptr<Worker> gone = std::move(it->second);
  workers_.erase(it);
  gone->channel->set_on_handle_result({});
  for (auto& [key, h] : servers_) {
    auto& ids = h->workers;
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
    if (h->cursor >= ids.size()) h->cursor = 0;
    mark_if_unheld(*h);
  }
  // A hand-over the worker's process never ACKed never reached the app: give it to another
  // worker. One it ACKed may have been read already: closing our copy is all that is left.
  for (auto& [seq, ho] : gone->in_flight) {
    if (ho.delivered) continue;
    if (!dispatch(ho.key, ho.conn, ho.inode, id)) hold(ho.key, ho.conn, ho.inode);
  }
  drain_held();
  refresh_accepting();
}

void ClusterPrimary::on_handle_result(WorkerId id, const json& inner, bool acked) {
  Worker* w = find(id);
  const auto seq = ipc::seq_of(inner);
  if (w == nullptr || !seq) return;
  auto it = w->in_flight.find(*seq);
  if (it == w->in_flight.end()) return;
  if (acked) {
    it->second.delivered = true;
    return;
  }
  // NACK: the line arrived without its fd (gotcha G9). The connection is still ours.
  HandOver ho = std::move(it->second);
  w->in_flight.erase(it);
  ++w->rejected;
  w->open.closed(ho.inode);
  if (!dispatch(ho.key, ho.conn, ho.inode, id)) hold(ho.key, ho.conn, ho.inode);
  refresh_accepting();
}

void ClusterPrimary::on_newconn_reply(Worker& w, const ipc::NewconnReply& reply) {
  auto it = w.in_flight.find(reply.ack);
  if (it == w.in_flight.end()) return;
  HandOver ho = std::move(it->second);
  w.in_flight.erase(it);
  if (reply.accepted) {
    ++w.accepted;  // the worker owns it now; `ho.conn` going out of scope closes our copy
  } else {
    ++w.rejected;
    w.open.closed(ho.inode);
    if (!dispatch(ho.key, ho.conn, ho.inode, w.id)) hold(ho.key, ho.conn, ho.inode);
  }
  drain_held();
  refresh_accepting();
}

}  // namespace drove::cluster
