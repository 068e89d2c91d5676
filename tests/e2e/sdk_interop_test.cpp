// Interoperability of the public library with real Node: a C++ parent and a Node child
// exchange messages with fds attached; an unmodified Node HTTP server is a worker of a C++
// primary; a C++ worker runs under a real Node primary.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <set>

#include <drove/channel.hpp>
#include <drove/cluster.hpp>
#include <drove/process.hpp>

#include "sdk_support.hpp"

namespace drove::e2e {
namespace {

TEST(SdkInterop, CppParentAndNodeChildExchangeMessagesWithFds) {
  EventLoop loop;
  auto child = drove::fork(loop, fixture("lib/fd_child.js"));
  ASSERT_TRUE(child.ok()) << child.error().message();
  std::vector<nlohmann::json> messages;
  std::vector<UniqueFd> fds;
  child->on_message([&](nlohmann::json m, UniqueFd fd) {
    messages.push_back(std::move(m));
    fds.push_back(std::move(fd));
  });
  // A plain message round trip, with text Node must not mangle.
  const nlohmann::json hello = {{"s", "line\nbreak \xE2\x80\xA8 你好"}, {"n", 1}};
  ASSERT_TRUE(child->send(hello).ok());
  ASSERT_TRUE(loop.run_until([&] { return !messages.empty(); }, 10000));
  EXPECT_EQ(messages[0]["echo"], hello);
  // C++ → Node: a connected socket with the message; Node writes into it.
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd ours(sv[0]);
  ASSERT_TRUE(child->send({{"kind", "socket"}, {"text", "hi"}}, UniqueFd(sv[1]), HandleType::net_socket).ok());
  std::string got;
  ASSERT_TRUE(loop.run_until(
      [&] {
        char buf[64];
        const ssize_t n = ::recv(ours.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) got.append(buf, static_cast<std::size_t>(n));
        return n == 0;
      },
      10000));
  EXPECT_EQ(got, "node got hi");
  ours.reset();  // Node's end() waits for our side to close too
  // Node → C++: a listening server arrives as an fd with its message, and is usable.
  ASSERT_TRUE(child->send("pair").ok());
  ASSERT_TRUE(loop.run_until([&] { return messages.size() >= 2; }, 10000));
  ASSERT_EQ(messages[1]["kind"], "server");
  ASSERT_TRUE(fds[1].valid());
  int listening = 0;
  socklen_t len = sizeof listening;
  ASSERT_EQ(::getsockopt(fds[1].get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len), 0);
  EXPECT_EQ(listening, 1);
  // Disconnect: the child leaves, exit and close follow.
  std::optional<ExitInfo> closed;
  child->on_close([&](ExitInfo e) { closed = e; });
  ASSERT_TRUE(child->send("bye").ok());
  const bool ended = loop.run_until([&] { return closed.has_value(); }, 10000);
  if (!ended) {
    ADD_FAILURE() << "running=" << child->running() << " connected=" << child->connected();
    (void)child->kill(SIGKILL);
  }
  ASSERT_TRUE(ended);
  EXPECT_TRUE(closed->success());
}

class NodeWorkersOfCppPrimary : public ::testing::TestWithParam<cluster::SchedulingPolicy> {};

TEST_P(NodeWorkersOfCppPrimary, UnmodifiedNodeHttpServersServeThroughThePrimary) {
  EventLoop loop;
  const int port = free_tcp_port();
  cluster::Primary primary(loop, {.exec = fixture("lib/http_server.js"), .policy = GetParam()});
  int online = 0, listening = 0;
  std::set<int> exited;
  primary.on_online([&](cluster::Worker&) { ++online; });
  primary.on_listening([&](cluster::Worker&, cluster::Address a) {
    EXPECT_EQ(a.port, port);
    ++listening;
  });
  primary.on_exit([&](cluster::Worker& w, ExitInfo e) {
    EXPECT_TRUE(e.success());
    EXPECT_TRUE(w.exited_after_disconnect());
    exited.insert(w.id());
  });
  std::set<pid_t> pids;
  for (int i = 0; i < 2; ++i) {
    auto w = primary.fork({{"PORT", std::to_string(port)}});
    ASSERT_TRUE(w.ok()) << w.error().message();
    pids.insert((*w)->pid());
  }
  ASSERT_TRUE(loop.run_until([&] { return online == 2 && listening == 2; }, 15000));
  const auto bodies = [&] {
    auto f = std::async(std::launch::async, [port] {
      std::vector<std::string> r;
      for (int i = 0; i < 6; ++i) r.push_back(http_get(port));
      return r;
    });
    loop.run_until([&] { return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }, 30000);
    return f.get();
  }();
  std::set<std::string> served_by;
  for (const auto& b : bodies) {
    ASSERT_NE(b.find("200 OK"), std::string::npos) << b;
    served_by.insert(b.substr(b.rfind("node ") + 5));
  }
  for (const auto& pid : served_by) EXPECT_TRUE(pids.count(std::stoi(pid))) << pid;
  if (GetParam() == cluster::SchedulingPolicy::round_robin) {
    EXPECT_EQ(served_by.size(), 2u);
  }
  bool all_gone = false;
  primary.disconnect([&] { all_gone = true; });
  ASSERT_TRUE(loop.run_until([&] { return all_gone; }, 15000));
  EXPECT_EQ(exited.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Policies, NodeWorkersOfCppPrimary,
                         ::testing::Values(cluster::SchedulingPolicy::round_robin, cluster::SchedulingPolicy::shared,
                                           cluster::SchedulingPolicy::least_connections));

TEST(SdkInterop, CppWorkersServeUnderARealNodePrimary) {
  const int port = free_tcp_port();
  EventLoop loop;
  auto primary =
      drove::spawn(loop, "node", {fixture("lib/node_primary.js"), example("http_cluster"), std::to_string(port), "4"},
                   {.stdio = {Stdio::ignore(), Stdio::pipe(), Stdio::inherit()}});
  ASSERT_TRUE(primary.ok()) << primary.error().message();
  std::string out;
  std::optional<ExitInfo> done;
  primary->on_stdout([&](std::string_view s) { out.append(s); });
  primary->on_close([&](ExitInfo e) { done = e; });
  ASSERT_TRUE(loop.run_until([&] { return count_of(out, "listening ") == 2; }, 15000)) << out;
  EXPECT_EQ(count_of(out, " " + std::to_string(port) + "\n"), 2) << out;
  auto f = std::async(std::launch::async, [port] {
    std::vector<std::string> r;
    for (int i = 0; i < 4; ++i) r.push_back(http_get(port));
    return r;
  });
  loop.run_until([&] { return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }, 30000);
  for (const auto& b : f.get()) EXPECT_NE(b.find("你好，世界！"), std::string::npos) << b;
  // The Node primary disconnects its C++ workers: they close and exit 0, then it exits.
  ASSERT_TRUE(loop.run_until([&] { return done.has_value(); }, 15000)) << out;
  EXPECT_EQ(count_of(out, " 0 true"), 2) << out;
  if (!done) (void)primary->kill(SIGKILL);
}

}  // namespace
}  // namespace drove::e2e
