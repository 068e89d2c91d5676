// NotifySocket: systemd's sd_notify protocol, so any program can say it is ready. Apps that
// opt in (wait_ready) get NOTIFY_SOCKET=@<name>; they send datagrams like "READY=1\nSTATUS=…".
//
// The socket is in the abstract namespace (sd_notify(3) supports "@..."), so an app run as any
// user reaches it: a path in the daemon's 0700 home is out of reach for `--uid nobody`. Anyone
// in the network namespace can send to it, so a datagram is never trusted for what it says:
// the kernel stamps it with the sender's credentials (SO_PASSCRED; an unprivileged sender cannot
// forge its pid), and the owner acts only on a sender it can tie to one of its apps (systemd's
// NotifyAccess=). The name is random, so no other user can bind it first.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <uv.h>

#include <functional>
#include <map>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"

namespace drove::process {

class NotifySocket {
 public:
  // Called per datagram with the sender's pid and its KEY=value assignments.
  using Handler = std::function<void(pid_t sender, const std::map<std::string, std::string>& fields)>;

  NotifySocket(uv_loop_t* loop, Handler handler);
  // Binds an abstract socket with a random name; path() is then "@<name>" (NOTIFY_SOCKET).
  Status bind_abstract();
  [[nodiscard]] const std::string& path() const { return path_; }

  // Parses "A=1\nB=two\n" (exposed for tests).
  static std::map<std::string, std::string> parse(std::string_view datagram);

 private:
  Status bind_address(const sockaddr_un& address, socklen_t length);
  void drain();

  uv_loop_t* loop_;
  Handler handler_;
  UniqueFd fd_;
  UvHandle<uv_poll_t> poll_;
  std::string path_;
};

}  // namespace drove::process
