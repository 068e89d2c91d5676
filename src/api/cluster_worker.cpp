// The worker side of drove/cluster.hpp: free functions over the process's ParentLink.
#include <cstdlib>

#include "api/parent_link.hpp"
#include "drove/cluster.hpp"

namespace drove::cluster {

bool is_worker() { return detail::initial_unique_id() != 0; }
bool is_primary() { return !is_worker(); }
int worker_id() { return detail::initial_unique_id(); }

Status listen(EventLoop& loop, std::optional<std::string> address, int port, ListenCallbacks callbacks) {
  auto* link = detail::ParentLink::get(loop);
  if (!link || !link->is_cluster_worker()) return SysError{EINVAL, "cluster::listen outside a cluster worker"};
  link->listen(std::move(address), port, std::move(callbacks));
  return Ok{};
}

Status listen(EventLoop& loop, std::optional<std::string> address, int port, ConnectionFn on_connection) {
  return listen(loop, std::move(address), port, ListenCallbacks{.on_connection = std::move(on_connection)});
}

Status send(EventLoop& loop, const nlohmann::json& message) {
  auto* link = detail::ParentLink::get(loop);
  if (!link) return SysError{ENOTCONN, "send: no parent channel"};
  return link->send(message);
}

void on_message(EventLoop& loop, std::function<void(nlohmann::json, UniqueFd)> fn) {
  if (auto* link = detail::ParentLink::get(loop)) link->on_message.push_back(std::move(fn));
}

void on_disconnect(EventLoop& loop, std::function<void()> fn) {
  if (auto* link = detail::ParentLink::get(loop)) link->on_disconnect.push_back(std::move(fn));
}

}  // namespace drove::cluster
