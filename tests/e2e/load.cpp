#include "load.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "base/unique_fd.hpp"

namespace drove::e2e {
namespace {

UniqueFd connect_to(int port, int timeout_ms) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return {};
  return fd;
}

enum class Outcome { ok, idle_close, io_error };

// Sends one request and reads one response (Content-Length framing).
// On failure, `why` says where it failed and with which errno (for the test's report).
Outcome exchange(int fd, const std::string& path, bool keep_alive, int& status, std::string& body, bool& server_closes,
                 std::string* why = nullptr) {
  const auto fail = [&](Outcome outcome, const char* where, ssize_t n) {
    if (why) *why = std::string(where) + (n < 0 ? std::string(": ") + std::strerror(errno) : std::string(": EOF"));
    return outcome;
  };
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (keep_alive ? "" : "Connection: close\r\n") + "\r\n";
  if (const ssize_t sent = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
      sent != static_cast<ssize_t>(request.size()))
    return fail(Outcome::idle_close, "send", sent);
  std::string data;
  char buf[16384];
  size_t header_end = std::string::npos;
  long content_length = -1;
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (data.empty()) return fail(Outcome::idle_close, "before any byte of the response", n);
      if (!keep_alive && header_end != std::string::npos && content_length < 0) break;  // body to EOF
      return fail(Outcome::io_error, "mid-response", n);
    }
    data.append(buf, static_cast<size_t>(n));
    if (header_end == std::string::npos && (header_end = data.find("\r\n\r\n")) != std::string::npos) {
      std::string head = data.substr(0, header_end);
      for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      status = std::atoi(data.c_str() + 9);
      if (auto at = head.find("content-length:"); at != std::string::npos)
        content_length = std::atol(head.c_str() + at + 15);
      server_closes = head.find("connection: close") != std::string::npos;
    }
    if (header_end != std::string::npos && content_length >= 0 &&
        data.size() >= header_end + 4 + static_cast<size_t>(content_length)) {
      body = data.substr(header_end + 4, static_cast<size_t>(content_length));
      return Outcome::ok;
    }
  }
  body = data.substr(header_end + 4);
  return Outcome::ok;
}

}  // namespace

std::string LoadStats::summary() const {
  return "ok=" + std::to_string(ok) + " non_200=" + std::to_string(non_200) +
         " connect_errors=" + std::to_string(connect_errors) + " io_errors=" + std::to_string(io_errors) +
         " retried=" + std::to_string(retried) + [&] {
           std::string text;
           for (const auto& f : failures) text += "\n  failed: " + f;
           return text;
         }();
}

int http_request(int port, const std::string& path, std::string* body, int timeout_ms) {
  UniqueFd fd = connect_to(port, timeout_ms);
  if (!fd) return 0;
  int status = 0;
  std::string b;
  bool closes = false;
  if (exchange(fd.get(), path, false, status, b, closes) != Outcome::ok) return 0;
  if (body) *body = b;
  return status;
}

LoadGenerator::LoadGenerator(int port, int threads, bool keep_alive, std::string path)
    : port_(port), threads_(threads), keep_alive_(keep_alive), path_(std::move(path)) {}

LoadGenerator::~LoadGenerator() {
  if (!workers_.empty()) stop();
}

// What a failed request looked like, for the report: when (ms after start), from which local
// port, and how it failed.
void LoadGenerator::note_failure(LoadStats& stats, int fd, const std::string& why) const {
  if (stats.failures.size() >= kFailuresKept) return;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
  std::string port = "-";
  sockaddr_in local{};
  socklen_t len = sizeof local;
  if (fd >= 0 && ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0)
    port = std::to_string(ntohs(local.sin_port));
  stats.failures.push_back("+" + std::to_string(ms.count()) + " ms, local port " + port + ", " + why);
}

void LoadGenerator::start() {
  started_ = std::chrono::steady_clock::now();
  for (int i = 0; i < threads_; ++i) workers_.emplace_back([this] { run_thread(); });
}

LoadStats LoadGenerator::stop() {
  stop_ = true;
  for (auto& t : workers_) t.join();
  workers_.clear();
  return total_;
}

void LoadGenerator::run_thread() {
  LoadStats mine;
  UniqueFd connection;
  bool reused = false;
  while (!stop_) {
    if (!connection) {
      connection = connect_to(port_, 10000);
      reused = false;
      if (!connection) {
        ++mine.connect_errors;
        note_failure(mine, -1, std::string("connect: ") + std::strerror(errno));
        continue;
      }
    }
    int status = 0;
    std::string body;
    bool server_closes = false;
    std::string why;
    Outcome outcome = exchange(connection.get(), path_, keep_alive_, status, body, server_closes, &why);
    if (outcome == Outcome::idle_close && reused) {
      // The server closed this idle keep-alive connection: retry once on a new one.
      ++mine.retried;
      connection = connect_to(port_, 10000);
      if (!connection) {
        ++mine.connect_errors;
        note_failure(mine, -1, std::string("connect (retry): ") + std::strerror(errno));
        continue;
      }
      outcome = exchange(connection.get(), path_, keep_alive_, status, body, server_closes, &why);
    }
    if (outcome != Outcome::ok) {
      ++mine.io_errors;
      note_failure(mine, connection.get(), why);
      connection.reset();
      continue;
    }
    if (status == 200)
      ++mine.ok;
    else
      ++mine.non_200;
    ++mine.bodies[body];
    ++completed_;
    if (!keep_alive_ || server_closes)
      connection.reset();
    else
      reused = true;
  }
  std::lock_guard lock(mutex_);
  total_.ok += mine.ok;
  total_.non_200 += mine.non_200;
  total_.connect_errors += mine.connect_errors;
  total_.io_errors += mine.io_errors;
  total_.retried += mine.retried;
  for (auto& f : mine.failures) {
    if (total_.failures.size() < kFailuresKept) total_.failures.push_back(std::move(f));
  }
  for (const auto& [b, n] : mine.bodies) total_.bodies[b] += n;
}

}  // namespace drove::e2e
