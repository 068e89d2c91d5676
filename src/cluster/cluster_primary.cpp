// ClusterPrimary: the protocol side (queryServer and its replies, newconn replies, online,
// listening, disconnect) and the wiring of the SocketTable and the Router.
#include "cluster/cluster_primary.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <type_traits>
#include <variant>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/loop_barrier.hpp"

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
    : policy_(policy),
      events_(std::move(events)),
      options_(std::move(options)),
      table_({.per_slot_tcp = policy == LoadBalance::reuseport,
              .max_listeners = options_.max_listeners,
              .unused_listener_close_ms = options_.unused_listener_close_ms,
              .bind_as = options_.bind_as,
              .app_name = options_.app_name},
             [this](const SocketTable::Entry& entry) {
               router_.forget(entry.key);
               server_data_.erase(entry.key);
             }),
      router_(loop, policy, table_,
              {.window_per_worker = options_.window_per_worker,
               .max_held_connections = options_.max_held_connections,
               .hold_ms = options_.hold_ms,
               .handover_timeout_ms = options_.handover_timeout_ms,
               .accept_batch = options_.accept_batch,
               .estimate_ttl_ms = options_.estimate_ttl_ms},
              [this](WorkerId id, const std::string& key, const Connection& conn) {
                return send_connection(id, key, conn);
              }) {
  tick_ = UvHandle<uv_timer_t>::make();
  uv_timer_init(loop, tick_.get());
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
  channel->set_on_handle_result([this, id](const json& inner, bool acked) {
    if (const auto seq = ipc::seq_of(inner)) router_.on_delivery(id, *seq, acked);
  });
  workers_.emplace(id, std::move(w));
  router_.add_worker(id);
}

std::optional<ClusterPrimary::WorkerState> ClusterPrimary::worker_state(WorkerId id) const {
  const Worker* w = find(id);
  if (w == nullptr) return std::nullopt;
  return WorkerState{w->keys, w->listening, w->online};
}

void ClusterPrimary::adopt_socket(const std::string& key, const ListenRequest& request, bool activation, int slot,
                                  Listener listener) {
  table_.adopt(key, request, activation, slot, std::move(listener));
}

void ClusterPrimary::adopt_worker(WorkerId id, const WorkerState& state) {
  Worker* w = find(id);
  if (w == nullptr) return;
  w->online = state.online;
  for (const auto& key : state.keys) {
    SocketTable::Entry* entry = table_.find(key);
    if (entry == nullptr) continue;  // its socket was not handed back: the worker's own copy serves
    table_.join(*entry, id);
    w->keys.insert(key);
    if (state.listening.count(key) != 0) w->listening.insert(key);
  }
  router_.drain_held();
  router_.refresh_accepting();
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
          router_.on_reply(id, m.ack, m.accepted);
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
          router_.stop_routing(id);
          (void)w->channel->send(ipc::ack_reply(m.seq, next_seq()));
          if (events_.on_exited_after_disconnect) events_.on_exited_after_disconnect(id);
        }
      },
      std::get<ipc::WorkerMessage>(*parsed));
  return true;
}

void ClusterPrimary::on_query_server(Worker& w, const ipc::QueryServer& q) {
  if (q.kind == ipc::QueryServer::Kind::fd) {
    reply_error(w, q, SysError{ENOTSUP, "listen({fd}) in a drove cluster worker"});
    return;
  }
  // Past the cap the worker's server emits 'error' (EMFILE); the table logs it once.
  if (auto admitted = table_.admit(q.key); !admitted) {
    reply_error(w, q, admitted.error(), /*log_it=*/false);
    return;
  }
  auto opened = table_.open(q.key, request_for(q));
  if (!opened) {
    reply_error(w, q, opened.error());
    return;
  }
  SocketTable::Entry& entry = *opened.value();
  auto fd = table_.socket_for(entry, w.slot);
  if (!fd) {
    reply_error(w, q, fd.error());
    return;
  }
  const json& data = server_data_.try_emplace(q.key, q.data).first->second;
  table_.join(entry, w.id);
  w.keys.insert(q.key);
  if (router_.accepts_on(entry)) {
    (void)w.channel->send(ipc::rr_reply(q, data, entry.listener.sockname(), next_seq()));
    router_.drain_held();
    router_.refresh_accepting();
    return;
  }
  reply_with_socket(w, q, entry.request.kind, data, fd.value());
}

void ClusterPrimary::reply_with_socket(Worker& w, const ipc::QueryServer& q, SocketKind kind, const json& data,
                                       int fd) {
  // The worker gets its own descriptor of the same socket; ours stays for the next worker.
  UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!copy) {
    reply_error(w, q, last_error("dup listening socket"));
    return;
  }
  const bool udp = kind == SocketKind::udp;
  (void)w.channel->send_handle(ipc::shared_reply(q, data, next_seq()), std::move(copy),
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
  // A routable worker closed the server itself (server.close(), and it keeps running): the last
  // one to do so closes the socket, as Node's primary does. One on its way out (disconnect,
  // reload, stop) leaves it for its replacement.
  table_.leave(key, w.id,
               router_.routable(w.id) ? SocketTable::Leaving::app_closed_it : SocketTable::Leaving::on_its_way_out);
  router_.refresh_accepting();
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

void ClusterPrimary::stop_routing(WorkerId id) { router_.stop_routing(id); }

void ClusterPrimary::disconnect(WorkerId id) {
  Worker* w = find(id);
  if (w == nullptr) return;
  router_.stop_routing(id);
  (void)w->channel->send(ipc::disconnect_request(next_seq()));
}

void ClusterPrimary::remove_worker(WorkerId id) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  std::unique_ptr<Worker> gone = std::move(it->second);
  workers_.erase(it);
  gone->channel->set_on_handle_result({});
  table_.leave_all(id);
  router_.remove_worker(id);
}

Result<std::int64_t> ClusterPrimary::send_connection(WorkerId id, const std::string& key, const Connection& conn) {
  Worker* w = find(id);
  if (w == nullptr) return SysError{EPIPE, "newconn to an unknown worker"};
  const std::int64_t seq = next_seq();
  if (auto sent = w->channel->send_handle(ipc::newconn(key, seq), conn, "net.Native"); !sent) return sent.error();
  return seq;
}

void ClusterPrimary::on_tick() {
  const std::int64_t now = monotonic_ms();
  router_.expire(now);
  table_.close_unused(now);
  router_.resume();
}

json ClusterPrimary::describe() const {
  json servers = json::array();
  for (const auto& [key, entry] : table_.entries()) {
    json s = {{"key", key},
              {"port", entry->port},
              {"workers", entry->workers},
              {"accepted", router_.accepted(key)},
              {"activation", entry->activation},
              {"accepting", router_.accepting(key)}};
    // Connections waiting in the kernel's accept queue now (TCP; per-slot sockets summed).
    std::size_t queued = accept_queue_length(entry->listener);
    for (const auto& [slot, l] : entry->slots) queued += accept_queue_length(l);
    s["accept_queue"] = queued;
    s["address"] = entry->request.address.value_or("");
    s["kind"] = entry->request.kind == SocketKind::udp         ? "udp"
                : entry->request.kind == SocketKind::unix_path ? "unix"
                                                               : "tcp";
    if (!entry->slots.empty()) {
      json slots = json::array();
      for (const auto& [slot, l] : entry->slots) slots.push_back(slot);
      s["reuseport_slots"] = slots;
    }
    servers.push_back(std::move(s));
  }
  json workers = json::array();
  for (const auto& [id, w] : workers_) {
    json entry = router_.describe_worker(id);
    entry.update(
        {{"id", id}, {"slot", w->slot}, {"online", w->online}, {"keys", w->keys}, {"listening", w->listening}});
    workers.push_back(std::move(entry));
  }
  return {{"policy", to_string(policy_)}, {"servers", servers},
          {"workers", workers},           {"held_connections", router_.held_count()},
          {"bind_errors", bind_errors_},  {"sock_diag", router_.census_available()}};
}

void ClusterPrimary::close_unheld() { table_.close_unheld(); }

void ClusterPrimary::close_all() {
  table_.close_all();
  router_.drop_held();
  for (auto& [id, w] : workers_) {
    w->keys.clear();
    w->listening.clear();
  }
}

Result<std::vector<int>> ClusterPrimary::activation_fds(const std::vector<ListenSpec>& specs, int slot) {
  return table_.activation_fds(specs, slot);
}

void ClusterPrimary::release_slot(int slot) { table_.release_slot(slot); }

std::optional<std::size_t> ClusterPrimary::waiting_connections(const std::vector<WorkerId>& workers) const {
  std::optional<std::size_t> total;
  for (const auto& [key, entry] : table_.entries()) {
    const bool ours = entry->activation || std::any_of(entry->workers.begin(), entry->workers.end(), [&](WorkerId w) {
                        return std::find(workers.begin(), workers.end(), w) != workers.end();
                      });
    if (!ours) continue;
    std::size_t n = accept_queue_length(entry->listener) + router_.held_for(key);
    for (const auto& [slot, listener] : entry->slots) n += accept_queue_length(listener);
    total = total.value_or(0) + n;
  }
  if (!total) return std::nullopt;
  for (WorkerId w : workers) *total += router_.in_flight(w);
  return total;
}

}  // namespace drove::cluster
