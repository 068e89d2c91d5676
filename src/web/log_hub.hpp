// LogHub: the dashboard's live log streams (GET /api/logs, Server-Sent Events). drove-web holds
// one connection to the daemon; it subscribes it to the daemon's log lines while at least one
// stream is open and unsubscribes it when the last one closes (a closed browser tab), so the
// daemon does per-line work for drove-web only while someone watches.
//
// The daemon's lines arrive on the connection's reader thread, which must never wait for a
// browser: a reader that falls behind makes the daemon hold every app's output (back-pressure,
// docs/logs.md). So each stream has a bounded queue; when a slow client lets it fill, its oldest
// lines are dropped and the stream is told how many ("event: dropped"). At most `max_streams`
// streams are open at once: each holds an HTTP thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>

namespace drove::web {

class LogHub {
 public:
  // Subscribes (true) or unsubscribes (false) drove-web's connection with the daemon; false
  // when the daemon did not agree. Called from HTTP threads, never from publish()'s.
  using Subscription = std::function<bool(bool on, std::string& why)>;

  struct Stream {
    std::string app;  // only this app's lines; empty: every app
    std::deque<std::string> events;
    std::size_t queued_bytes = 0;
    std::size_t dropped = 0;  // lines dropped since the last next()
    bool ended = false;
  };

  LogHub(std::size_t max_streams, std::size_t max_queued_bytes, Subscription subscription);

  // A new stream for `app` (empty: every app); nullptr with `why` when max_streams are open or
  // the daemon refused the subscription.
  std::shared_ptr<Stream> open(const std::string& app, std::string& why);
  // The stream is gone (its client left): the last one unsubscribes.
  void close(const std::shared_ptr<Stream>& stream);
  // One log line from the daemon: `app` is its app's name, `json` the line as the daemon sent it
  // (one JSON object, no newline). Never blocks on a stream.
  void publish(const std::string& app, const std::string& json);
  // The daemon went away: every stream ends.
  void end();

  // The Server-Sent Events text queued for `stream` (a "dropped" event first when lines were
  // dropped), waiting up to `timeout` for some; "" when none came. `ended`: nothing more will.
  std::string next(Stream& stream, std::chrono::milliseconds timeout, bool& ended);

  [[nodiscard]] std::size_t open_streams() const;

 private:
  const std::size_t max_streams_;
  const std::size_t max_queued_bytes_;
  Subscription subscription_;
  std::mutex subscribing_;  // held across a (un)subscription, so they happen in order
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::list<std::shared_ptr<Stream>> streams_;
  bool ended_ = false;
};

}  // namespace drove::web
