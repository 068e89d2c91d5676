#include "web/daemon_connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace drove::web {
namespace {

constexpr std::size_t kMaxLineBytes = 64ull << 20;  // the daemon's own bound on a line

}  // namespace

DaemonConnection::DaemonConnection(int fd, EventHandler on_event, std::function<void()> on_close)
    : fd_(fd), on_event_(std::move(on_event)), on_close_(std::move(on_close)) {}

DaemonConnection::~DaemonConnection() {
  ::shutdown(fd_, SHUT_RDWR);  // ends the reader's recv()
  if (reader_.joinable()) reader_.join();
  ::close(fd_);
}

void DaemonConnection::start() {
  reader_ = std::thread([this] { read_lines(); });
}

DaemonConnection::Reply DaemonConnection::call(const std::string& method, const nlohmann::json& params,
                                               std::chrono::milliseconds timeout) {
  Reply reply;
  long id = 0;
  {
    std::lock_guard lock(mutex_);
    if (closed_) {
      reply.message = "the daemon's connection closed";
      return reply;
    }
    id = ++next_id_;
    waiting_.emplace(id, std::nullopt);
  }
  const std::string line = nlohmann::json{{"id", id}, {"method", method}, {"params", params}}.dump() + "\n";
  bool sent = true;
  {
    std::lock_guard lock(send_mutex_);  // lines from several threads must not interleave
    for (std::size_t done = 0; done < line.size();) {
      const ssize_t n = ::send(fd_, line.data() + done, line.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        reply.message = std::string("the daemon's connection: ") + std::strerror(errno);
        sent = false;
        break;
      }
      done += static_cast<std::size_t>(n);
    }
  }
  std::unique_lock lock(mutex_);
  const auto entry = waiting_.find(id);
  if (sent && !answered_.wait_for(lock, timeout, [&] { return closed_ || entry->second.has_value(); })) {
    reply.kind = Reply::Kind::timed_out;
    reply.message = "the daemon did not answer within " + std::to_string(timeout.count() / 1000) + " s";
  } else if (sent && entry->second.has_value()) {
    const nlohmann::json& answer = *entry->second;
    if (answer.contains("error")) {
      reply.kind = Reply::Kind::error;
      reply.message = answer["error"].is_object() ? answer["error"].value("message", "error") : "error";
    } else {
      reply.kind = Reply::Kind::ok;
      reply.result = answer.value("result", nlohmann::json());
    }
  } else if (sent) {
    reply.message = "the daemon's connection closed";
  }
  waiting_.erase(entry);  // a reply that comes after the timeout is dropped by the reader
  return reply;
}

void DaemonConnection::read_lines() {
  std::string buffer;
  char chunk[65536];
  while (true) {
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
      handle_line(buffer.substr(start, nl - start));
    }
    buffer.erase(0, start);
    if (buffer.size() > kMaxLineBytes) break;  // framing is lost: the daemon never sends that
  }
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  answered_.notify_all();
  if (on_close_) on_close_();
}

void DaemonConnection::handle_line(const std::string& line) {
  auto message = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!message.is_object()) return;
  if (message.contains("event")) {
    if (on_event_) on_event_(message, line);
    return;
  }
  const auto id = message.find("id");
  if (id == message.end() || !id->is_number_integer()) return;
  {
    std::lock_guard lock(mutex_);
    const auto waiter = waiting_.find(id->get<long>());
    if (waiter == waiting_.end()) return;  // its caller gave up waiting
    waiter->second = std::move(message);
  }
  answered_.notify_all();
}

}  // namespace drove::web
