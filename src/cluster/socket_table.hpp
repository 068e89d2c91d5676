// SocketTable: the listening sockets of one cluster primary, keyed like Node's primary keys its
// servers (`address:port:addressType:fd:index`, or `activation:address:port`). It opens them
// with the app's rights, holds them across worker restarts so that no connection is refused
// while a worker comes back, and closes them when nobody will: at once when the app closed its
// last server on a key, after `unused_listener_close_ms` when the last worker holding one left,
// or on request (close_all, close_unheld).
//
// It records which workers joined each key (in join order: the router's round-robin order) but
// knows nothing of channels or of the Node protocol: ClusterPrimary speaks that, Router accepts
// on these sockets. Before a key's sockets close, `on_closing` lets the router stop polling them
// (a poll handle must never outlive the fd it watches).
//
// Single-threaded on the caller's loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "cluster/listener.hpp"
#include "cluster/load_balance.hpp"

namespace drove::cluster {

using WorkerId = int;  // the daemon's instance id

class SocketTable {
 public:
  struct Options {
    // reuseport: a TCP key is one SO_REUSEPORT socket per worker slot instead of one socket.
    bool per_slot_tcp = false;
    // Keys that may be open at once (activation keys, fixed by the app's config, not counted).
    std::size_t max_listeners = 64;
    // A key no worker holds any more is closed this long after the last one left.
    std::int64_t unused_listener_close_ms = 10000;
    // The app's rights, asked for at every bind/unlink. Unset: the daemon's own.
    std::function<Result<BindIdentity>()> bind_as;
    std::string app_name;  // for the daemon's log
  };

  struct Entry {
    std::string key;
    ListenRequest request;             // how to (re)open it; reuseport slots reuse it
    Listener listener;                 // every key but a per-slot one (TCP under reuseport)
    std::map<int, Listener> slots;     // per-slot keys: one socket per worker slot
    int port = 0;                      // the real port once bound
    bool activation = false;           // opened for socket activation (LISTEN_FDS), never accepted on
    std::vector<WorkerId> workers;     // joined, in join order
    std::int64_t unheld_since_ms = 0;  // when `workers` became empty (0: held, or activation)
  };

  // How a worker leaves a key (leave()).
  enum class Leaving {
    on_its_way_out,  // disconnect, reload, stop: the socket waits for a worker to come back
    app_closed_it,   // server.close() in a worker that keeps running: the last one closes it
  };

  using OnClosing = std::function<void(const Entry&)>;

  explicit SocketTable(Options options, OnClosing on_closing = {});
  SocketTable(const SocketTable&) = delete;
  SocketTable& operator=(const SocketTable&) = delete;
  ~SocketTable();  // closes every socket (removing unix paths) without calling on_closing

  // The per-app cap: EMFILE when `key` is not open and max_listeners keys are. Logged once per
  // time the cap is reached, not per refused request.
  Status admit(const std::string& key);
  // The entry for `key`, opened with `request` if it is not open yet.
  Result<Entry*> open(const std::string& key, const ListenRequest& request);
  // The socket a worker of `slot` gets: the key's one socket, or (per-slot keys) its slot's,
  // opened on the key's port on first use (port 0: the first slot picks it).
  Result<int> socket_for(Entry& entry, int slot);

  void join(Entry& entry, WorkerId worker);
  void leave(const std::string& key, WorkerId worker, Leaving how);
  void leave_all(WorkerId worker);  // the worker is gone

  // Socket activation for non-Node apps: the fds for instance `slot`, in `specs` order.
  Result<std::vector<int>> activation_fds(const std::vector<ListenSpec>& specs, int slot);
  void release_slot(int slot);  // closes the per-slot sockets of a slot that will not come back

  // A socket opened by an earlier daemon, handed back by the keeper (daemon survival): `slot` -1
  // is the key's one socket, otherwise a per-slot one. The key is created if needed.
  Entry& adopt(const std::string& key, const ListenRequest& request, bool activation, int slot, Listener listener);

  void close_unused(std::int64_t now_ms);  // keys unheld for unused_listener_close_ms
  void close_unheld();                     // keys no worker holds now
  void close_all();

  [[nodiscard]] const Entry* find(const std::string& key) const;
  [[nodiscard]] Entry* find(const std::string& key);
  [[nodiscard]] const std::map<std::string, std::unique_ptr<Entry>>& entries() const { return entries_; }

 private:
  Result<Listener> open_for_app(const ListenRequest& request) const;
  Result<int> slot_socket(Entry& entry, int slot);
  [[nodiscard]] std::size_t counted() const;
  void close(Entry& entry, bool notify);
  static void mark_if_unheld(Entry& entry);

  Options options_;
  OnClosing on_closing_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
  bool cap_reported_ = false;
};

}  // namespace drove::cluster
