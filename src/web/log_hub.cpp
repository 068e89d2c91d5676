#include "web/log_hub.hpp"

#include <algorithm>

namespace drove::web {

LogHub::LogHub(std::size_t max_streams, std::size_t max_queued_bytes, Subscription subscription)
    : max_streams_(max_streams), max_queued_bytes_(max_queued_bytes), subscription_(std::move(subscription)) {}

std::shared_ptr<LogHub::Stream> LogHub::open(const std::string& app, std::string& why) {
  std::lock_guard order(subscribing_);
  {
    std::lock_guard lock(mutex_);
    if (ended_) {
      why = "the daemon's connection closed";
      return nullptr;
    }
    if (streams_.size() >= max_streams_) {
      why = "too many live log streams (at most " + std::to_string(max_streams_) + "); close one and retry";
      return nullptr;
    }
    if (!streams_.empty()) {
      auto stream = std::make_shared<Stream>();
      stream->app = app;
      streams_.push_back(stream);
      return stream;
    }
  }
  // The first stream: the daemon starts sending lines (no lock held: its reply comes through the
  // reader thread, which may be waiting in publish() for mutex_).
  if (!subscription_(true, why)) return nullptr;
  std::lock_guard lock(mutex_);
  auto stream = std::make_shared<Stream>();
  stream->app = app;
  streams_.push_back(stream);
  return stream;
}

void LogHub::close(const std::shared_ptr<Stream>& stream) {
  std::lock_guard order(subscribing_);
  bool last = false;
  {
    std::lock_guard lock(mutex_);
    const auto it = std::find(streams_.begin(), streams_.end(), stream);
    if (it == streams_.end()) return;
    streams_.erase(it);
    last = streams_.empty() && !ended_;
  }
  if (last) {
    std::string ignored;  // a daemon that does not answer has no subscription to end either
    subscription_(false, ignored);
  }
}

void LogHub::publish(const std::string& app, const std::string& json) {
  const std::string event = "event: log\ndata: " + json + "\n\n";
  std::lock_guard lock(mutex_);
  bool queued = false;
  for (auto& stream : streams_) {
    if (!stream->app.empty() && stream->app != app) continue;
    stream->events.push_back(event);
    stream->queued_bytes += event.size();
    while (stream->queued_bytes > max_queued_bytes_ && !stream->events.empty()) {
      stream->queued_bytes -= stream->events.front().size();
      stream->events.pop_front();
      ++stream->dropped;
    }
    queued = true;
  }
  if (queued) changed_.notify_all();
}

void LogHub::end() {
  std::lock_guard lock(mutex_);
  ended_ = true;
  for (auto& stream : streams_) stream->ended = true;
  changed_.notify_all();
}

std::string LogHub::next(Stream& stream, std::chrono::milliseconds timeout, bool& ended) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return stream.ended || !stream.events.empty() || stream.dropped != 0; });
  std::string out;
  if (stream.dropped != 0) {
    out = "event: dropped\ndata: {\"lines\":" + std::to_string(stream.dropped) + "}\n\n";
    stream.dropped = 0;
  }
  for (auto& event : stream.events) out += event;
  stream.events.clear();
  stream.queued_bytes = 0;
  ended = stream.ended;
  return out;
}

std::size_t LogHub::open_streams() const {
  std::lock_guard lock(mutex_);
  return streams_.size();
}

}  // namespace drove::web
