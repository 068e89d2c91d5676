#include "cluster/router.hpp"

#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/loop_barrier.hpp"
#include "cluster/scheduler.hpp"
#include "cluster/socket_census.hpp"

namespace drove::cluster {

Router::Router(uv_loop_t* loop, LoadBalance policy, const SocketTable& table, Options options, Send send)
    : loop_(loop), policy_(policy), table_(table), options_(options), send_(std::move(send)) {}

Router::~Router() = default;  // each Route's poll closes with it, before the table's fds

Router::Worker* Router::find(WorkerId worker) {
  auto it = workers_.find(worker);
  return it == workers_.end() ? nullptr : &it->second;
}
const Router::Worker* Router::find(WorkerId worker) const {
  auto it = workers_.find(worker);
  return it == workers_.end() ? nullptr : &it->second;
}

bool Router::accepts_on(const SocketTable::Entry& entry) const {
  return !entry.activation && entry.listener.fd.valid() && entry.request.kind != SocketKind::udp &&
         (policy_ == LoadBalance::round_robin || policy_ == LoadBalance::least_connections);
}

bool Router::can_take(WorkerId worker) const {
  const Worker* w = find(worker);
  return w != nullptr && w->routable && !w->broken && w->in_flight.size() < options_.window_per_worker;
}

bool Router::any_can_take(const SocketTable::Entry& entry) const {
  for (const WorkerId id : entry.workers) {
    if (can_take(id)) return true;
  }
  return false;
}

Router::Route& Router::route(const std::string& key) {
  auto& slot = routes_[key];
  if (!slot) {
    slot = std::make_unique<Route>();
    slot->router = this;
    slot->key = key;
  }
  return *slot;
}

void Router::add_worker(WorkerId worker) { workers_[worker] = Worker{}; }

void Router::remove_worker(WorkerId worker) {
  auto it = workers_.find(worker);
  if (it == workers_.end()) return;
  Worker gone = std::move(it->second);
  workers_.erase(it);
  for (auto& [key, r] : routes_) {
    const SocketTable::Entry* entry = table_.find(key);
    if (entry != nullptr && r->cursor >= entry->workers.size()) r->cursor = 0;
  }
  // A hand-over the worker's process never ACKed never reached the app: give it to another
  // worker. One it ACKed may have been read already: closing our copy is all that is left.
  for (auto& [seq, ho] : gone.in_flight) {
    if (ho.delivered) continue;
    place(ho.key, ho.conn, ho.inode, worker);
  }
  drain_held();
  refresh_accepting();
}

void Router::stop_routing(WorkerId worker) {
  if (Worker* w = find(worker)) w->routable = false;
  refresh_accepting();
}

bool Router::routable(WorkerId worker) const {
  const Worker* w = find(worker);
  return w != nullptr && w->routable;
}

void Router::on_delivery(WorkerId worker, std::int64_t seq, bool acked) {
  Worker* w = find(worker);
  if (w == nullptr) return;
  auto it = w->in_flight.find(seq);
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
  place(ho.key, ho.conn, ho.inode, worker);
  refresh_accepting();
}

void Router::on_reply(WorkerId worker, std::int64_t seq, bool accepted) {
  Worker* w = find(worker);
  if (w == nullptr) return;
  auto it = w->in_flight.find(seq);
  if (it == w->in_flight.end()) return;
  HandOver ho = std::move(it->second);
  w->in_flight.erase(it);
  if (accepted) {
    ++w->accepted;  // the worker owns it now; `ho.conn` going out of scope closes our copy
  } else {
    ++w->rejected;
    w->open.closed(ho.inode);
    place(ho.key, ho.conn, ho.inode, worker);
  }
  drain_held();
  refresh_accepting();
}

// To a worker now, or into the held queue.
void Router::place(const std::string& key, Connection conn, ino_t inode, WorkerId exclude) {
  if (!dispatch(key, conn, inode, exclude)) hold(key, std::move(conn), inode);
}

bool Router::dispatch(const std::string& key, const Connection& conn, ino_t inode, WorkerId exclude) {
  const SocketTable::Entry* entry = table_.find(key);
  if (entry == nullptr) return false;
  Route& r = route(key);
  std::vector<Candidate> candidates;
  candidates.reserve(entry->workers.size());
  for (const WorkerId id : entry->workers) {
    const Worker* w = find(id);
    Candidate c;
    if (w != nullptr && id != exclude) {
      c.eligible = can_take(id);
      c.open_connections = w->open.count();
    }
    candidates.push_back(c);
  }
  for (std::size_t attempt = 0; attempt < candidates.size(); ++attempt) {
    const auto pick = policy_ == LoadBalance::least_connections ? pick_least_connections(candidates, r.cursor)
                                                                : pick_round_robin(candidates, r.cursor);
    if (!pick) return false;
    const WorkerId id = entry->workers[*pick];
    Worker* w = find(id);
    if (w != nullptr && hand_over(id, *w, key, conn, inode)) return true;
    candidates[*pick].eligible = false;
  }
  return false;
}

bool Router::hand_over(WorkerId id, Worker& w, const std::string& key, const Connection& conn, ino_t inode) {
  auto seq = send_(id, key, conn);
  if (!seq) {
    w.broken = true;  // its channel is dead or saturated; remove_worker() follows
    return false;
  }
  const std::int64_t now = monotonic_ms();
  w.in_flight.emplace(seq.value(), HandOver{key, conn, inode, now, false});
  ++w.handed;
  w.open.handed(inode, now);
  return true;
}

void Router::hold(const std::string& key, Connection conn, ino_t inode) {
  if (held_.size() >= options_.max_held_connections) {
    log_warn("cluster: {} connections waiting for a worker; closing one for {}", held_.size(), key);
    return;  // `conn` is released by the caller: the client sees the connection closed
  }
  held_.push_back(Held{key, std::move(conn), inode, monotonic_ms()});
}

void Router::drain_held() {
  if (held_.empty()) return;
  std::deque<Held> waiting;
  waiting.swap(held_);
  const std::int64_t now = monotonic_ms();
  for (auto& c : waiting) {
    if (now - c.since_ms > options_.hold_ms || table_.find(c.key) == nullptr) continue;  // closed
    if (!dispatch(c.key, c.conn, c.inode, -1)) held_.push_back(std::move(c));
  }
}

void Router::drop_held() { held_.clear(); }

std::size_t Router::held_for(const std::string& key) const {
  std::size_t n = 0;
  for (const Held& c : held_) n += c.key == key ? 1 : 0;
  return n;
}

std::size_t Router::in_flight(WorkerId worker) const {
  auto it = workers_.find(worker);
  return it == workers_.end() ? 0 : it->second.in_flight.size();
}

void Router::on_acceptable(Route& r) {
  const SocketTable::Entry* entry = table_.find(r.key);
  if (entry == nullptr) return;
  for (int i = 0; i < options_.accept_batch; ++i) {
    if (!any_can_take(*entry)) break;
    const int raw = ::accept4(entry->listener.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (raw < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        log_warn("cluster: accept on {}: {}; pausing until the next tick", r.key, std::strerror(errno));
        accept_paused_for_fds_ = true;
        break;
      }
      log_warn("cluster: accept on {}: {}", r.key, std::strerror(errno));
      break;
    }
    auto conn = std::make_shared<const UniqueFd>(raw);
    struct stat st {};
    const ino_t inode = ::fstat(raw, &st) == 0 ? st.st_ino : 0;
    ++r.accepted;
    place(r.key, std::move(conn), inode, -1);
  }
  refresh_accepting();
}

void Router::freeze() {
  frozen_ = true;
  refresh_accepting();
}

void Router::refresh_accepting() {
  for (const auto& [key, entry] : table_.entries()) {
    const bool want = accepts_on(*entry) && !accept_paused_for_fds_ && !frozen_ && any_can_take(*entry);
    auto found = routes_.find(key);
    const bool polling = found != routes_.end() && found->second->polling;
    if (want == polling) continue;
    Route& r = route(key);
    if (!r.poll) {
      r.poll = UvHandle<uv_poll_t>::make();
      if (uv_poll_init(loop_, r.poll.get(), entry->listener.fd.get()) != 0) {
        log_error("cluster: cannot poll the socket of {}", key);
        r.poll.close();
        continue;
      }
      r.poll->data = &r;
    }
    if (want) {
      uv_poll_start(r.poll.get(), UV_READABLE, [](uv_poll_t* p, int status, int) {
        loop_barrier("cluster accept", [p, status] {
          auto* accepting = owner_of<Route>(p);
          if (accepting != nullptr && status == 0) accepting->router->on_acceptable(*accepting);
        });
      });
    } else {
      uv_poll_stop(r.poll.get());
    }
    r.polling = want;
  }
}

void Router::forget(const std::string& key) {
  routes_.erase(key);  // closes the poll before the table closes the fd it watches
}

void Router::expire(std::int64_t now_ms) {
  for (auto& [id, w] : workers_) {
    for (auto it = w.in_flight.begin(); it != w.in_flight.end();) {
      // A worker that never answers (G9, or hung) must not pin our copies forever.
      if (now_ms - it->second.sent_ms > options_.handover_timeout_ms)
        it = w.in_flight.erase(it);
      else
        ++it;
    }
  }
  if (policy_ == LoadBalance::least_connections) census();
}

void Router::resume() {
  accept_paused_for_fds_ = false;
  drain_held();
  refresh_accepting();
}

void Router::census() {
  const std::int64_t started = monotonic_ms();
  if (census_available_) {
    std::vector<int> ports;
    for (const auto& [key, entry] : table_.entries()) {
      if (entry->listener.fd.valid() && entry->request.kind == SocketKind::tcp) ports.push_back(entry->listener.port);
    }
    auto live = live_tcp_inodes(ports);
    if (live) {
      for (auto& [id, w] : workers_) w.open.refresh(live.value(), started);
      return;
    }
    census_available_ = false;
    log_warn("cluster: sock_diag unavailable ({}); least-connections estimates", live.error().message());
  }
  for (auto& [id, w] : workers_) w.open.expire(started, options_.estimate_ttl_ms);
}

std::uint64_t Router::accepted(const std::string& key) const {
  auto it = routes_.find(key);
  return it == routes_.end() ? 0 : it->second->accepted;
}

bool Router::accepting(const std::string& key) const {
  auto it = routes_.find(key);
  return it != routes_.end() && it->second->polling;
}

nlohmann::json Router::describe_worker(WorkerId worker) const {
  const Worker* w = find(worker);
  if (w == nullptr) return nlohmann::json::object();
  return {{"routable", w->routable},          {"handed", w->handed},
          {"accepted", w->accepted},          {"rejected", w->rejected},
          {"in_flight", w->in_flight.size()}, {"open_connections", w->open.count()}};
}

}  // namespace drove::cluster
