#include "cluster/socket_table.hpp"

#include <algorithm>
#include <cerrno>

#include "base/clock.hpp"
#include "base/log.hpp"

namespace drove::cluster {

SocketTable::SocketTable(Options options, OnClosing on_closing)
    : options_(std::move(options)), on_closing_(std::move(on_closing)) {}

SocketTable::~SocketTable() {
  for (auto& [key, entry] : entries_) close(*entry, /*notify=*/false);
}

Result<Listener> SocketTable::open_for_app(const ListenRequest& request) const {
  if (!options_.bind_as) return open_listener(request);
  auto as = options_.bind_as();
  if (!as) return as.error();
  return open_listener(request, as.value());
}

std::size_t SocketTable::counted() const {
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [](const auto& entry) { return !entry.second->activation; }));
}

// A worker may ask for any number of servers (listen(0) in a loop makes a new key each time):
// each is a socket held by the daemon, so an app gets max_listeners and then EMFILE, which
// Node turns into the server's 'error' event ("listen EMFILE").
Status SocketTable::admit(const std::string& key) {
  if (entries_.count(key) != 0 || counted() < options_.max_listeners) {
    cap_reported_ = false;
    return Ok{};
  }
  if (!cap_reported_) {
    cap_reported_ = true;
    log_warn("app '{}' reached its listener cap ({} listeners, max_listeners): further listen() calls fail with EMFILE",
             options_.app_name, options_.max_listeners);
  }
  return SysError{EMFILE, "listener cap (max_listeners " + std::to_string(options_.max_listeners) + ")"};
}

Result<SocketTable::Entry*> SocketTable::open(const std::string& key, const ListenRequest& request) {
  if (auto it = entries_.find(key); it != entries_.end()) return it->second.get();
  auto entry = std::make_unique<Entry>();
  entry->key = key;
  entry->request = request;
  entry->port = request.port;
  if (!(options_.per_slot_tcp && request.kind == SocketKind::tcp)) {
    auto l = open_for_app(entry->request);
    if (!l) return l.error();
    entry->listener = std::move(l.value());
    entry->port = entry->listener.port;
  }
  auto* raw = entry.get();
  entries_.emplace(key, std::move(entry));
  return raw;
}

Result<int> SocketTable::socket_for(Entry& entry, int slot) {
  if (entry.listener.fd.valid()) return entry.listener.fd.get();
  return slot_socket(entry, slot);
}

Result<int> SocketTable::slot_socket(Entry& entry, int slot) {
  if (auto it = entry.slots.find(slot); it != entry.slots.end()) return it->second.fd.get();
  ListenRequest r = entry.request;
  r.reuse_port = true;
  r.port = entry.port;  // port 0: the first slot picks it, every other slot joins it
  auto l = open_for_app(r);
  if (!l) return l.error();
  entry.port = l->port;
  const int fd = l->fd.get();
  entry.slots.emplace(slot, std::move(l.value()));
  return fd;
}

SocketTable::Entry& SocketTable::adopt(const std::string& key, const ListenRequest& request, bool activation, int slot,
                                       Listener listener) {
  auto& entry = entries_[key];
  if (!entry) {
    entry = std::make_unique<Entry>();
    entry->key = key;
    entry->request = request;
    entry->activation = activation;
  }
  entry->port = listener.port;
  if (slot < 0)
    entry->listener = std::move(listener);
  else
    entry->slots[slot] = std::move(listener);
  mark_if_unheld(*entry);
  return *entry;
}

void SocketTable::join(Entry& entry, WorkerId worker) {
  if (std::find(entry.workers.begin(), entry.workers.end(), worker) == entry.workers.end()) {
    entry.workers.push_back(worker);
  }
  entry.unheld_since_ms = 0;
}

void SocketTable::leave(const std::string& key, WorkerId worker, Leaving how) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Entry& entry = *it->second;
  entry.workers.erase(std::remove(entry.workers.begin(), entry.workers.end(), worker), entry.workers.end());
  if (entry.workers.empty() && !entry.activation && how == Leaving::app_closed_it) {
    // Nobody is coming back for it, so it goes now, as in Node's primary.
    close(entry, /*notify=*/true);
    entries_.erase(it);
  } else {
    // The socket stays: its backlog holds connections until a worker listens again, or until
    // unused_listener_close_ms passes.
    mark_if_unheld(entry);
  }
}

void SocketTable::leave_all(WorkerId worker) {
  for (auto& [key, entry] : entries_) {
    auto& ids = entry->workers;
    ids.erase(std::remove(ids.begin(), ids.end(), worker), ids.end());
    mark_if_unheld(*entry);
  }
}

void SocketTable::mark_if_unheld(Entry& entry) {
  if (!entry.activation && entry.workers.empty() && entry.unheld_since_ms == 0) entry.unheld_since_ms = monotonic_ms();
}

// The path of a unix listener is ours to remove when we close it (as libuv does), but only if a
// socket still sits there, and with the app's rights (the app's user may have swapped the path).
// The fds themselves close when the entry is destroyed, after on_closing.
void SocketTable::close(Entry& entry, bool notify) {
  if (notify && on_closing_) on_closing_(entry);
  if (entry.listener.kind != SocketKind::unix_path || !entry.listener.fd.valid()) return;
  auto as = options_.bind_as ? options_.bind_as() : Result<BindIdentity>(BindIdentity{});
  Status removed = as ? remove_socket_path(entry.listener.address, as.value()) : Status(as.error());
  if (!removed) log_warn("app '{}': {}", options_.app_name, removed.error().message());
}

void SocketTable::close_unused(std::int64_t now_ms) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& entry = *it->second;
    if (entry.unheld_since_ms != 0 && entry.workers.empty() &&
        now_ms - entry.unheld_since_ms >= options_.unused_listener_close_ms) {
      close(entry, /*notify=*/true);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

void SocketTable::close_unheld() {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second->workers.empty()) {
      close(*it->second, /*notify=*/true);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

void SocketTable::close_all() {
  for (auto& [key, entry] : entries_) close(*entry, /*notify=*/true);
  entries_.clear();
}

Result<std::vector<int>> SocketTable::activation_fds(const std::vector<ListenSpec>& specs, int slot) {
  std::vector<int> fds;
  for (const auto& spec : specs) {
    const bool is_path = !spec.address.empty() && spec.address.front() == '/';
    const std::string key = "activation:" + spec.address + ":" + (is_path ? "-1" : std::to_string(spec.port));
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      ListenRequest request;
      request.kind = is_path ? SocketKind::unix_path : SocketKind::tcp;
      if (!spec.address.empty()) request.address = spec.address;
      request.port = is_path ? -1 : spec.port;
      // systemd hands out blocking sockets unless told otherwise; apps expect that.
      request.nonblocking = false;
      auto opened = open(key, request);
      if (!opened) return opened.error();
      opened.value()->activation = true;
      it = entries_.find(key);
    }
    auto fd = socket_for(*it->second, slot);
    if (!fd) return fd.error();
    fds.push_back(fd.value());
  }
  return fds;
}

void SocketTable::release_slot(int slot) {
  for (auto& [key, entry] : entries_) entry->slots.erase(slot);
}

const SocketTable::Entry* SocketTable::find(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : it->second.get();
}

SocketTable::Entry* SocketTable::find(const std::string& key) {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : it->second.get();
}

}  // namespace drove::cluster
