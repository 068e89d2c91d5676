// ClusterPrimary, the sockets as a whole: opening them with the app's rights, the per-app cap,
// describing them, closing them (unused, or all), and socket activation (the same sockets,
// given at spawn to non-Node apps that accept by themselves).
#include <algorithm>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "cluster/cluster_primary.hpp"
#include "cluster/cluster_primary_state.hpp"

namespace drove::cluster {

using nlohmann::json;

Result<Listener> ClusterPrimary::open_for_app(const ListenRequest& request) const {
  if (!options_.bind_as) return open_listener(request);
  auto as = options_.bind_as();
  if (!as) return as.error();
  return open_listener(request, as.value());
}

std::size_t ClusterPrimary::counted_listeners() const {
  return static_cast<std::size_t>(
      std::count_if(servers_.begin(), servers_.end(), [](const auto& entry) { return !entry.second->activation; }));
}

// A worker may ask for any number of servers (listen(0) in a loop makes a new key each time):
// each is a socket held by the daemon, so an app gets max_listeners and then EMFILE, which
// Node turns into the server's 'error' event ("listen EMFILE"). Logged once per time the cap is
// reached, not per refused request.
bool ClusterPrimary::refuse_past_cap(Worker& w, const ipc::QueryServer& q) {
  if (servers_.count(q.key) != 0 || counted_listeners() < options_.max_listeners) {
    cap_reported_ = false;
    return false;
  }
  if (!cap_reported_) {
    cap_reported_ = true;
    log_warn("app '{}' reached its listener cap ({} listeners, max_listeners): further listen() calls fail with EMFILE",
             options_.app_name, options_.max_listeners);
  }
  reply_error(w, q, SysError{EMFILE, "listener cap (max_listeners " + std::to_string(options_.max_listeners) + ")"},
              /*log_it=*/false);
  return true;
}

void ClusterPrimary::mark_if_unheld(ServerHandle& h) {
  if (!h.activation && h.workers.empty() && h.unheld_since_ms == 0) h.unheld_since_ms = monotonic_ms();
}

// The path of a unix listener is ours to remove when we close it (as libuv does), but only if a
// socket still sits there, and with the app's rights (the app's user may have swapped the path).
void ClusterPrimary::close_server(ServerHandle& h) {
  h.poll.close();  // before the fd it watches
  if (h.listener.kind != SocketKind::unix_path || !h.listener.fd.valid()) return;
  auto as = options_.bind_as ? options_.bind_as() : Result<BindIdentity>(BindIdentity{});
  Status removed = as ? remove_socket_path(h.listener.address, as.value()) : Status(as.error());
  if (!removed) log_warn("app '{}': {}", options_.app_name, removed.error().message());
}

void ClusterPrimary::close_unused(std::int64_t now_ms) {
  for (auto it = servers_.begin(); it != servers_.end();) {
    ServerHandle& h = *it->second;
    if (h.unheld_since_ms != 0 && h.workers.empty() &&
        now_ms - h.unheld_since_ms >= options_.unused_listener_close_ms) {
      close_server(h);
      it = servers_.erase(it);
    } else {
      ++it;
    }
  }
}

json ClusterPrimary::describe() const {
  json servers = json::array();
  for (const auto& [key, h] : servers_) {
    json s = {{"key", key},
              {"port", h->port},
              {"workers", h->workers},
              {"accepted", h->accepted},
              {"activation", h->activation},
              {"accepting", h->polling}};
    s["address"] = h->request.address.value_or("");
    s["kind"] = h->request.kind == SocketKind::udp ? "udp" : h->request.kind == SocketKind::unix_path ? "unix" : "tcp";
    if (!h->slots.empty()) {
      json slots = json::array();
      for (const auto& [slot, l] : h->slots) slots.push_back(slot);
      s["reuseport_slots"] = slots;
    }
    servers.push_back(std::move(s));
  }
  json workers = json::array();
  for (const auto& [id, w] : workers_) {
    workers.push_back({{"id", id},
                       {"slot", w->slot},
                       {"online", w->online},
                       {"routable", w->routable},
                       {"handed", w->handed},
                       {"accepted", w->accepted},
                       {"rejected", w->rejected},
                       {"in_flight", w->in_flight.size()},
                       {"open_connections", w->open.count()},
                       {"keys", w->keys},
                       {"listening", w->listening}});
  }
  return {{"policy", to_string(policy_)},     {"servers", servers},          {"workers", workers},
          {"held_connections", held_.size()}, {"bind_errors", bind_errors_}, {"sock_diag", census_available_}};
}

void ClusterPrimary::close_unheld() {
  for (auto it = servers_.begin(); it != servers_.end();) {
    if (it->second->workers.empty()) {
      close_server(*it->second);
      it = servers_.erase(it);
    } else {
      ++it;
    }
  }
}

void ClusterPrimary::close_all() {
  for (auto& [key, h] : servers_) close_server(*h);
  servers_.clear();
  held_.clear();
  for (auto& [id, w] : workers_) {
    w->keys.clear();
    w->listening.clear();
  }
}

Result<std::vector<int>> ClusterPrimary::activation_fds(const std::vector<ListenSpec>& specs, int slot) {
  std::vector<int> fds;
  for (const auto& spec : specs) {
    const bool is_path = !spec.address.empty() && spec.address.front() == '/';
    const std::string key = "activation:" + spec.address + ":" + (is_path ? "-1" : std::to_string(spec.port));
    auto it = servers_.find(key);
    if (it == servers_.end()) {
      auto h = std::make_unique<ServerHandle>();
      h->primary = this;
      h->key = key;
      h->activation = true;
      h->request.kind = is_path ? SocketKind::unix_path : SocketKind::tcp;
      if (!spec.address.empty()) h->request.address = spec.address;
      h->request.port = is_path ? -1 : spec.port;
      // systemd hands out blocking sockets unless told otherwise; apps expect that.
      h->request.nonblocking = false;
      h->port = h->request.port;
      if (policy_ != LoadBalance::reuseport || is_path) {
        auto l = open_for_app(h->request);
        if (!l) return l.error();
        h->listener = std::move(l.value());
        h->port = h->listener.port;
      }
      it = servers_.emplace(key, std::move(h)).first;
    }
    ServerHandle& h = *it->second;
    if (h.listener.fd.valid()) {
      fds.push_back(h.listener.fd.get());
      continue;
    }
    auto s = slot_socket(h, slot);
    if (!s) return s.error();
    fds.push_back(s.value());
  }
  return fds;
}

void ClusterPrimary::release_slot(int slot) {
  for (auto& [key, h] : servers_) h->slots.erase(slot);
}

}  // namespace drove::cluster
