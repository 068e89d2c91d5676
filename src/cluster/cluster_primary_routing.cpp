// ClusterPrimary, connection routing: accepting on the sockets of the round-robin and
// least-connections policies and handing each connection to one worker, pipelined.
//
// The primary accepts only while some worker can take a connection now (routable, listening on
// the key, fewer than `window_per_worker` hand-overs unanswered); otherwise it stops polling and
// the kernel's backlog is the queue. Connections it already holds and cannot place (their
// worker died or refused them) wait in a small bounded queue for `hold_ms`.
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/loop_barrier.hpp"
#include "cluster/cluster_primary.hpp"
#include "cluster/cluster_primary_state.hpp"
#include "cluster/scheduler.hpp"
#include "cluster/socket_census.hpp"

namespace drove::cluster {

namespace {

bool can_take(const ClusterPrimary::Options& o, bool routable, bool broken, std::size_t in_flight) {
  return routable && !broken && in_flight < o.window_per_worker;
}

}  // namespace

bool ClusterPrimary::dispatch(const std::string& key, ipc::SharedFd conn, ino_t inode, WorkerId exclude) {
  auto it = servers_.find(key);
  if (it == servers_.end()) return false;
  ServerHandle& h = *it->second;
  std::vector<Candidate> candidates;
  candidates.reserve(h.workers.size());
  for (const WorkerId id : h.workers) {
    const Worker* w = find(id);
    Candidate c;
    if (w != nullptr && id != exclude) {
      c.eligible = can_take(options_, w->routable, w->broken, w->in_flight.size());
      c.open_connections = w->open.count();
    }
    candidates.push_back(c);
  }
  for (std::size_t attempt = 0; attempt < candidates.size(); ++attempt) {
    const auto pick = policy_ == LoadBalance::least_connections ? pick_least_connections(candidates, h.cursor)
                                                                : pick_round_robin(candidates, h.cursor);
    if (!pick) return false;
    Worker* w = find(h.workers[*pick]);
    if (w != nullptr && hand_over(*w, key, conn, inode)) return true;
    candidates[*pick].eligible = false;
  }
  return false;
}

bool ClusterPrimary::hand_over(Worker& w, const std::string& key, const ipc::SharedFd& conn, ino_t inode) {
  const std::int64_t seq = next_seq();
  if (auto st = w.channel->send_handle(ipc::newconn(key, seq), conn, "net.Native"); !st) {
    w.broken = true;  // its channel is dead or saturated; remove_worker() follows
    return false;
  }
  const std::int64_t now = monotonic_ms();
  w.in_flight.emplace(seq, HandOver{key, conn, inode, now, false});
  ++w.handed;
  w.open.handed(inode, now);
  return true;
}

void ClusterPrimary::hold(const std::string& key, ipc::SharedFd conn, ino_t inode) {
  if (held_.size() >= options_.max_held_connections) {
    log_warn("cluster: {} connections waiting for a worker; closing one for {}", held_.size(), key);
    return;  // `conn` is released by the caller: the client sees the connection closed
  }
  held_.push_back(Held{key, std::move(conn), inode, monotonic_ms()});
}

void ClusterPrimary::drain_held() {
  if (held_.empty()) return;
  std::deque<Held> waiting;
  waiting.swap(held_);
  const std::int64_t now = monotonic_ms();
  for (auto& c : waiting) {
    if (now - c.since_ms > options_.hold_ms || servers_.count(c.key) == 0) continue;  // closed
    if (!dispatch(c.key, c.conn, c.inode, -1)) held_.push_back(std::move(c));
  }
}

void ClusterPrimary::on_acceptable(ServerHandle& h) {
  for (int i = 0; i < options_.accept_batch; ++i) {
    bool any = false;
    for (const WorkerId id : h.workers) {
      const Worker* w = find(id);
      if (w != nullptr && can_take(options_, w->routable, w->broken, w->in_flight.size())) {
        any = true;
        break;
      }
    }
    if (!any) break;
    const int raw = ::accept4(h.listener.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (raw < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        log_warn("cluster: accept on {}: {}; pausing until the next tick", h.key, std::strerror(errno));
        accept_paused_for_fds_ = true;
        break;
      }
      log_warn("cluster: accept on {}: {}", h.key, std::strerror(errno));
      break;
    }
    auto conn = std::make_shared<const UniqueFd>(raw);
    struct stat st {};
    const ino_t inode = ::fstat(raw, &st) == 0 ? st.st_ino : 0;
    ++h.accepted;
    if (!dispatch(h.key, conn, inode, -1)) hold(h.key, std::move(conn), inode);
  }
  refresh_accepting();
}

void ClusterPrimary::refresh_accepting() {
  for (auto& [key, hp] : servers_) {
    ServerHandle& h = *hp;
    bool want = accepts_itself(h) && !accept_paused_for_fds_;
    if (want) {
      want = false;
      for (const WorkerId id : h.workers) {
        const Worker* w = find(id);
        if (w != nullptr && can_take(options_, w->routable, w->broken, w->in_flight.size())) {
          want = true;
          break;
        }
      }
    }
    if (want == h.polling) continue;
    if (!h.poll) {
      h.poll = UvHandle<uv_poll_t>::make();
      if (uv_poll_init(loop_, h.poll.get(), h.listener.fd.get()) != 0) {
        log_error("cluster: cannot poll the socket of {}", key);
        h.poll.close();
        continue;
      }
      h.poll->data = &h;
    }
    if (want) {
      uv_poll_start(h.poll.get(), UV_READABLE, [](uv_poll_t* p, int status, int) {
        loop_barrier("cluster accept", [p, status] {
          auto* server = owner_of<ServerHandle>(p);
          if (server != nullptr && status == 0) server->primary->on_acceptable(*server);
        });
      });
    } else {
      uv_poll_stop(h.poll.get());
    }
    h.polling = want;
  }
}

void ClusterPrimary::on_tick() {
  const std::int64_t now = monotonic_ms();
  for (auto& [id, w] : workers_) {
    for (auto it = w->in_flight.begin(); it != w->in_flight.end();) {
      // A worker that never answers (G9, or hung) must not pin our copies forever.
      if (now - it->second.sent_ms > options_.handover_timeout_ms)
        it = w->in_flight.erase(it);
      else
        ++it;
    }
  }
  if (policy_ == LoadBalance::least_connections) census();
  close_unused(now);
  accept_paused_for_fds_ = false;
  drain_held();
  refresh_accepting();
}

void ClusterPrimary::census() {
  const std::int64_t started = monotonic_ms();
  if (census_available_) {
    std::vector<int> ports;
    for (const auto& [key, h] : servers_) {
      if (h->listener.fd.valid() && h->request.kind == SocketKind::tcp) ports.push_back(h->listener.port);
    }
    auto live = live_tcp_inodes(ports);
    if (live) {
      for (auto& [id, w] : workers_) w->open.refresh(live.value(), started);
      return;
    }
    census_available_ = false;
    log_warn("cluster: sock_diag unavailable ({}); least-connections estimates", live.error().message());
  }
  for (auto& [id, w] : workers_) w->open.expire(started, options_.estimate_ttl_ms);
}

}  // namespace drove::cluster
