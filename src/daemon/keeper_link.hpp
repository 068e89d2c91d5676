// KeeperLink: the daemon's side of the keeper (keeper/keeper.hpp). At start it takes back what
// the keeper holds; afterwards it keeps the keeper's set of descriptors equal to the
// supervisor's (sync), writes the state file a successor reads ($DROVE_HOME/daemon.state), and
// passes on the exits of apps the keeper reaped.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"
#include "supervisor/supervisor.hpp"

namespace drove::daemon {

class KeeperLink {
 public:
  using OnExited = std::function<void(pid_t pid, int wait_status)>;

  // Reads every `held` record up to `held_end` (blocking: the keeper sends them first thing).
  static Result<std::unique_ptr<KeeperLink>> open(uv_loop_t* loop, UniqueFd sock, std::string state_path);
  KeeperLink(const KeeperLink&) = delete;
  KeeperLink& operator=(const KeeperLink&) = delete;

  // Starts reading the keeper's `exited` records (they may arrive as soon as this is called).
  // `on_lost` runs once if the keeper goes away.
  void start(OnExited on_exited, std::function<void()> on_lost);
  // What the keeper handed back at start, by token (taken once).
  std::map<std::uint64_t, supervisor::Supervisor::HandedFd> take_handed();

  // Makes the keeper hold exactly these descriptors, then writes the state if it changed. The
  // keeper holds a descriptor before the state names it.
  void sync(const supervisor::Supervisor::KeptState& kept);
  void ready();  // everything taken over, serving: a death after this is not a crash loop
  void bye();    // the daemon ends for good: the keeper closes everything once it exits
  [[nodiscard]] bool connected() const { return static_cast<bool>(sock_); }
  [[nodiscard]] std::size_t held() const { return held_.size(); }
  [[nodiscard]] const std::string& state_path() const { return state_path_; }

 private:
  KeeperLink(uv_loop_t* loop, UniqueFd sock, std::string state_path);
  void on_readable();
  void lost();

  uv_loop_t* loop_;
  UniqueFd sock_;
  std::string state_path_;
  UvHandle<uv_poll_t> poll_;
  OnExited on_exited_;
  std::function<void()> on_lost_;
  std::map<std::uint64_t, supervisor::Supervisor::HandedFd> handed_;
  std::map<std::uint64_t, pid_t> held_;  // what the keeper holds now
  std::string written_;                  // the state file's content
};

// Reads a state file written by sync(): its JSON, or an error naming the file and the problem
// (missing, unreadable, not JSON, or a state version this daemon cannot read).
Result<nlohmann::json> read_state_file(const std::string& path);

}  // namespace drove::daemon
