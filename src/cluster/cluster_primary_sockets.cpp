// ClusterPrimary, the sockets as a whole: describing them, closing them, and socket activation
// (the same sockets, given at spawn to non-Node apps that accept by themselves).
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.hpp"
#include "cluster/cluster_primary.hpp"
#include "cluster/cluster_primary_state.hpp"

namespace drove::cluster {

using nlohmann::json;

namespace {

// The path of a unix listener is ours to remove when we close it (as libuv does), but only if a
// socket still sits there.
void unlink_socket_path(const Listener& l) {
  struct stat st{};
  if (l.kind == SocketKind::unix_path && l.fd.valid() && ::lstat(l.address.c_str(), &st) == 0 &&
      S_ISSOCK(st.st_mode)) {
    ::unlink(l.address.c_str());
  }
}

}  // namespace

json ClusterPrimary::describe() const {
  json servers = json::array();
  for (const auto& [key, h] : servers_) {
    json s = {{"key", key}, {"port", h->port}, {"workers", h->workers},
              {"accepted", h->accepted}, {"activation", h->activation},
              {"accepting", h->polling}};
    s["address"] = h->request.address.value_or("");
    s["kind"] = h->request.kind == SocketKind::udp ? "udp"
                : h->request.kind == SocketKind::unix_path ? "unix" : "tcp";
    if (!h->slots.empty()) {
      json slots = json::array();
      for (const auto& [slot, l] : h->slots) slots.push_back(slot);
      s["reuseport_slots"] = slots;
    }
    servers.push_back(std::move(s));
  }
  json workers = json::array();
  for (const auto& [id, w] : workers_) {
    workers.push_back({{"id", id}, {"slot", w->slot}, {"online", w->online},
                       {"routable", w->routable}, {"handed", w->handed},
                       {"accepted", w->accepted}, {"rejected", w->rejected},
                       {"in_flight", w->in_flight.size()}, {"open_connections", w->open.count()},
                       {"keys", w->keys}, {"listening", w->listening}});
  }
  return {{"policy", to_string(policy_)}, {"servers", servers}, {"workers", workers},
          {"held_connections", held_.size()}, {"bind_errors", bind_errors_},
          {"sock_diag", census_available_}};
}

void ClusterPrimary::close_all() {
  for (auto& [key, h] : servers_) {
    h->poll.close();  // before the fd it watches
    unlink_socket_path(h->listener);
  }
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
        auto l = open_listener(h->request);
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
