#include "cluster/cluster_worker.hpp"

#include <sys/socket.h>

#include "base/log.hpp"
#include "cluster/listener.hpp"
#include "ipc/cluster_messages.hpp"

namespace drove::cluster {

using nlohmann::json;

ClusterWorker::ClusterWorker(ipc::Channel* channel, Callbacks callbacks)
    : channel_(channel), callbacks_(std::move(callbacks)) {}

void ClusterWorker::start() { (void)channel_->send({{"cmd", "NODE_CLUSTER"}, {"act", "online"}, {"seq", seq_++}}); }

std::string ClusterWorker::listen_tcp(std::optional<std::string> address, int port) {
  json query = {{"cmd", "NODE_CLUSTER"}, {"act", "queryServer"}, {"data", nullptr}, {"port", port}, {"backlog", 511}};
  query["address"] = address ? json(*address) : json(nullptr);
  query["addressType"] = address && address->find(':') != std::string::npos ? 6 : 4;
  // Node's index: the n-th listen on the same address in this process shares the n-th handle.
  const std::string base = query["address"].dump() + ":" + std::to_string(port);
  query["index"] = index_[base]++;
  const std::string key = ipc::node_key(query);
  const std::int64_t seq = seq_++;
  query["seq"] = seq;
  servers_[key] = Server{query, false};
  pending_[seq] = key;
  (void)channel_->send(query);
  return key;
}

void ClusterWorker::close_server(const std::string& key) {
  if (servers_.erase(key) == 0) return;
  (void)channel_->send({{"cmd", "NODE_CLUSTER"}, {"act", "close"}, {"key", key}, {"seq", seq_++}});
}

bool ClusterWorker::is_listening(const std::string& key) const {
  auto it = servers_.find(key);
  return it != servers_.end() && it->second.ready;
}

bool ClusterWorker::handle_message(const json& msg, UniqueFd& fd) {
  if (!ipc::is_cluster_message(msg)) return false;
  if (const auto ack = ipc::ack_of(msg)) {
    auto it = pending_.find(*ack);
    if (it != pending_.end()) {
      const std::string key = it->second;
      pending_.erase(it);
      on_reply(msg, fd, key);
    }
    return true;  // an ack matching nothing is ignored, as in Node
  }
  const auto act = ipc::act_of(msg).value_or("");
  if (act == "newconn") {
    on_newconn(msg, fd);
  } else if (act == "disconnect") {
    std::vector<std::string> keys;
    for (const auto& [key, s] : servers_) keys.push_back(key);
    for (const auto& key : keys) close_server(key);
    if (callbacks_.on_disconnect) callbacks_.on_disconnect();
  }
  return true;
}

void ClusterWorker::on_reply(const json& msg, UniqueFd& fd, const std::string& key) {
  auto it = servers_.find(key);
  if (it == servers_.end()) return;  // closed meanwhile
  const json errno_value = msg.value("errno", json());
  if (!fd && errno_value.is_number() && errno_value.get<int>() != 0) {
    servers_.erase(it);
    if (callbacks_.on_error) callbacks_.on_error(key, errno_value.get<int>());
    return;
  }
  it->second.ready = true;
  json sockname = msg.value("sockname", json());
  if (fd) {
    // Shared: the socket itself. Node's primary sends a bound socket that may not listen yet.
    (void)set_nonblocking(fd.get());
    ::listen(fd.get(), 511);
    if (callbacks_.on_listening_socket) callbacks_.on_listening_socket(key, std::move(fd));
  }
  json listening = it->second.query;
  listening["act"] = "listening";
  if (sockname.is_object()) listening["port"] = sockname.value("port", 0);
  listening["seq"] = seq_++;
  (void)channel_->send(listening);
  if (callbacks_.on_listening) callbacks_.on_listening(key, sockname);
}

void ClusterWorker::on_newconn(const json& msg, UniqueFd& fd) {
  const auto seq = ipc::seq_of(msg);
  const std::string key = msg.value("key", "");
  auto it = servers_.find(key);
  const bool accepted =
      fd.valid() && it != servers_.end() && it->second.ready && static_cast<bool>(callbacks_.on_connection);
  (void)channel_->send({{"cmd", "NODE_CLUSTER"}, {"ack", seq.value_or(0)}, {"accepted", accepted}, {"seq", seq_++}});
  if (!accepted) return;  // `fd` is closed by the caller; the primary redispatches
  (void)set_nonblocking(fd.get());
  callbacks_.on_connection(key, std::move(fd));
}

}  // namespace drove::cluster
