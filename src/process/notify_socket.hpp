// NotifySocket: systemd's sd_notify protocol, so any program can say it is ready. Apps that
// opt in (wait_ready) get NOTIFY_SOCKET=<path>; they send datagrams like "READY=1\nSTATUS=…".
// The kernel stamps each datagram with the sender's credentials (SO_PASSCRED), which is how a
// message is tied to a process, as systemd does.
#pragma once

#include <sys/types.h>
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
  Status bind(const std::string& path);
  [[nodiscard]] const std::string& path() const { return path_; }

  // Parses "A=1\nB=two\n" (exposed for tests).
  static std::map<std::string, std::string> parse(std::string_view datagram);

 private:
  void drain();

  uv_loop_t* loop_;
  Handler handler_;
  UniqueFd fd_;
  UvHandle<uv_poll_t> poll_;
  std::string path_;
};

}  // namespace drove::process
