// DaemonConnection: drove-web's one connection to the daemon (its end of the socketpair the
// daemon made, docs/rpc.md's JSON lines). One reader thread reads every line: a reply goes to
// the HTTP thread that waits for its id, a pushed {"event": "log"} line to the log hub. So a
// live log stream and requests share the connection, and a slow request never stalls the
// lines (the daemon holds every app's output while its reader is behind).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace drove::web {

class DaemonConnection {
 public:
  struct Reply {
    enum class Kind { ok, error, unavailable, timed_out } kind = Kind::unavailable;
    nlohmann::json result;  // kind ok
    std::string message;    // otherwise: the daemon's error, or why there is no answer
    [[nodiscard]] bool ok() const { return kind == Kind::ok; }
  };
  // A pushed line: its parsed form and the line itself.
  using EventHandler = std::function<void(const nlohmann::json& event, const std::string& line)>;

  // `fd`: a connected stream socket, owned from here on (for the process's life).
  DaemonConnection(int fd, EventHandler on_event, std::function<void()> on_close);
  DaemonConnection(const DaemonConnection&) = delete;
  DaemonConnection& operator=(const DaemonConnection&) = delete;
  ~DaemonConnection();

  void start();  // the reader thread
  // Calls `method`, waiting at most `timeout` for its reply. Any number of threads at once.
  Reply call(const std::string& method, const nlohmann::json& params, std::chrono::milliseconds timeout);

 private:
  void read_lines();
  void handle_line(const std::string& line);

  int fd_;
  EventHandler on_event_;
  std::function<void()> on_close_;
  std::thread reader_;
  std::mutex send_mutex_;
  std::mutex mutex_;  // the fields below
  std::condition_variable answered_;
  long next_id_ = 0;
  std::map<long, std::optional<nlohmann::json>> waiting_;  // id → its reply once read
  bool closed_ = false;
};

}  // namespace drove::web
