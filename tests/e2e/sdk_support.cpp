#include "sdk_support.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace drove::e2e {

std::string tcp_read_all(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "";
  timeval tv{10, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd.get(), buf, sizeof buf, 0)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  return text;
}

RunningExample::RunningExample(const std::string& name, const std::vector<std::string>& args) {
  auto started = spawn(loop, name.starts_with('/') ? name : example(name), args,
                       {.stdio = {Stdio::ignore(), Stdio::pipe(), Stdio::inherit()}});
  if (!started.ok()) {
    ADD_FAILURE() << "cannot start " << name << ": " << started.error().message();
    return;
  }
  child = std::move(started.value());
  child.on_stdout([this](std::string_view chunk) { out.append(chunk); });
  child.on_close([this](ExitInfo info) { exit = info; });
}

RunningExample::~RunningExample() {
  if (child.running()) {
    (void)child.kill(SIGKILL);
    wait_exit(5000);
  }
}

bool RunningExample::wait_output(const std::string& needle, int count, std::int64_t timeout_ms) {
  return loop.run_until([&] { return count_of(out, needle) >= count; }, timeout_ms);
}

bool RunningExample::wait_exit(std::int64_t timeout_ms) {
  return loop.run_until([&] { return exit.has_value(); }, timeout_ms);
}

}  // namespace drove::e2e
