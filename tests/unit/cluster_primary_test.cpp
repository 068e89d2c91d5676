// ClusterPrimary with real, unmodified node workers (NODE_UNIQUE_ID set, plain listen()).
#include "cluster/cluster_primary.hpp"

#include <gtest/gtest.h>

#include "cluster_harness.hpp"

namespace drove::cluster {
namespace {

using nlohmann::json;
using testing::ClusterHarness;

TEST(ClusterPrimary, TwoWorkersAnswerHttpFromBothPids) {
  ClusterHarness h(LoadBalance::round_robin);
  const int port = testing::free_port();
  ASSERT_TRUE(h.start_http_workers(2, port));
  EXPECT_EQ(h.online[1], 1);
  EXPECT_EQ(h.online[2], 1);
  const auto r = testing::run_http_load(h, port, 10, 1);
  EXPECT_EQ(r.ok, 10);
  EXPECT_EQ(r.per_pid.count(h.workers[1]->pid), 1u);
  EXPECT_EQ(r.per_pid.count(h.workers[2]->pid), 1u);
  // The app's own process.send() messages are not consumed by the primary.
  EXPECT_TRUE(h.workers[1]->has_message([](const json& m) { return m.value("event", "") == "listening"; }));
}

TEST(ClusterPrimary, RoundRobinSpreadsEvenlyOverFourWorkers) {
  ClusterHarness h(LoadBalance::round_robin);
  const int port = testing::free_port();
  ASSERT_TRUE(h.start_http_workers(4, port));
  const auto r = testing::run_http_load(h, port, 1000, 1);
  std::printf("round-robin spread over 4 workers: %s\n", testing::spread_text(r).c_str());
  EXPECT_EQ(r.ok, 1000);
  ASSERT_EQ(r.per_pid.size(), 4u);
  for (const auto& [pid, n] : r.per_pid) EXPECT_NEAR(n, 250, 1) << "pid " << pid;
}

class ClusterPolicySpread : public ::testing::TestWithParam<LoadBalance> {};

TEST_P(ClusterPolicySpread, ThousandConnectionsAllServedOverFourWorkers) {
  ClusterHarness h(GetParam());
  const int port = testing::free_port();
  ASSERT_TRUE(h.start_http_workers(4, port));
  const auto r = testing::run_http_load(h, port, 1000, 4);
  std::printf("%s spread over 4 workers (4 concurrent clients): %s\n", to_string(GetParam()),
              testing::spread_text(r).c_str());
  EXPECT_EQ(r.ok, 1000);
  EXPECT_GE(r.per_pid.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Policies, ClusterPolicySpread,
                         ::testing::Values(LoadBalance::round_robin, LoadBalance::shared, LoadBalance::reuseport,
                                           LoadBalance::least_connections),
                         [](const ::testing::TestParamInfo<LoadBalance>& param_info) {
                           std::string n = to_string(param_info.param);
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(ClusterPrimary, WorkerKilledUnderLoadRefusesNoConnection) {
  ClusterHarness h(LoadBalance::round_robin);
  const int port = testing::free_port();
  ASSERT_TRUE(h.start_http_workers(4, port));
  const pid_t victim = h.workers[2]->pid;
  bool killed = false;
  const auto r = testing::run_http_load(h, port, 1000, 4, [&](int done) {
    if (!killed && done >= 250) {
      ::kill(victim, SIGKILL);
      killed = true;
    }
  });
  std::printf("SIGKILL of 1 of 4 workers under load: %s\n", testing::spread_text(r).c_str());
  EXPECT_TRUE(killed);
  EXPECT_EQ(r.refused, 0);
  EXPECT_LE(r.other_errors, 8);  // only connections the dead worker had already taken
  EXPECT_GE(r.ok, 992);
  EXPECT_EQ(h.primary.worker_count(), 3u);
  EXPECT_LT(r.per_pid.count(victim) ? r.per_pid.at(victim) : 0, 250);
}

TEST(ClusterPrimary, CloseAllClosesThePort) {
  ClusterHarness h(LoadBalance::round_robin);
  const int port = testing::free_port();
  ASSERT_TRUE(h.start_http_workers(1, port));
  EXPECT_EQ(testing::run_http_load(h, port, 3, 1).ok, 3);
  h.primary.close_all();
  EXPECT_EQ(testing::tcp_exchange(port, testing::kHttpGet).error, ECONNREFUSED);
}

TEST(ClusterPrimary, PortIsKeptWhileNoWorkerIsAlive) {
  ClusterHarness h(LoadBalance::round_robin);
  const int port = testing::free_port();
  ASSERT_TRUE(h.start_http_workers(1, port));
  ::kill(h.workers[1]->pid, SIGKILL);
  ASSERT_TRUE(h.loop.run_until([&] { return h.primary.worker_count() == 0; }));
  // A connection made now waits in the backlog and is served by the replacement.
  std::atomic<int> result{-2};
  std::thread client([&] { result = testing::hello_pid(testing::tcp_exchange(port, testing::kHttpGet).reply); });
  auto* replacement = h.start(5, "app.js", {{"PORT", std::to_string(port)}, {"HOST", "127.0.0.1"}});
  ASSERT_NE(replacement, nullptr);
  const bool served = h.loop.run_until([&] { return result.load() != -2; });
  client.join();
  ASSERT_TRUE(served);
  EXPECT_EQ(result.load(), replacement->pid);
}

TEST(ClusterPrimary, BindErrorReachesTheAppsErrorHandler) {
  ClusterHarness h(LoadBalance::round_robin);
  auto squatter = open_listener({.address = std::string("127.0.0.1"), .port = 0});
  ASSERT_TRUE(squatter.ok());
  auto* w = h.start(1, "app.js", {{"PORT", std::to_string(squatter->port)}, {"HOST", "127.0.0.1"}});
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(
      h.loop.run_until([&] { return w->has_message([](const json& m) { return m.value("event", "") == "error"; }); }));
  EXPECT_TRUE(w->has_message(
      [](const json& m) { return m.value("code", "") == "EADDRINUSE" && m.value("syscall", "") == "bind"; }));
  ASSERT_EQ(h.bind_errors.size(), 1u);
  EXPECT_EQ(h.primary.describe()["bind_errors"][0]["errno"], -EADDRINUSE);
}

TEST(ClusterPrimary, PortZeroIsSharedByAllWorkers) {
  for (const auto policy : {LoadBalance::round_robin, LoadBalance::shared, LoadBalance::reuseport}) {
    ClusterHarness h(policy);
    ASSERT_TRUE(h.start_http_workers(2, 0));
    auto port_of = [&](int id) {
      for (const auto& m : h.workers[id]->messages) {
        if (m.value("event", "") == "listening") return m["port"].get<int>();
      }
      return -1;
    };
    ASSERT_TRUE(h.loop.run_until([&] { return port_of(1) > 0 && port_of(2) > 0; }));
    EXPECT_EQ(port_of(1), port_of(2)) << to_string(policy);
    EXPECT_EQ(testing::run_http_load(h, port_of(1), 20, 1).ok, 20) << to_string(policy);
  }
}

TEST(ClusterPrimary, DualStackListenServesIpv4) {
  ClusterHarness h(LoadBalance::round_robin);
  const int port = testing::free_port();
  ASSERT_TRUE(h.start_http_workers(1, port, ""));  // listen(port): address null
  EXPECT_EQ(testing::run_http_load(h, port, 3, 1).ok, 3);
  EXPECT_EQ(h.primary.describe()["servers"][0]["key"], "null:" + std::to_string(port) + ":4:undefined:0");
}

TEST(ClusterPrimary, LeastConnectionsSendsNewConnectionsToTheIdleWorker) {
  ClusterHarness h(LoadBalance::least_connections);
  const int port = testing::free_port();
  ASSERT_TRUE(h.start_http_workers(2, port));
  // Keep-alive connections: each stays open after its response.
  struct Conn {
    UniqueFd fd;
    int pid = -1;
    std::string buf;
  };
  auto open_conn = [&] {
    Conn c;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c.fd = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::connect(c.fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    const std::string req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    EXPECT_GT(::send(c.fd.get(), req.data(), req.size(), MSG_NOSIGNAL), 0);
    EXPECT_TRUE(h.loop.run_until([&] {
      char b[512];
      const ssize_t n = ::recv(c.fd.get(), b, sizeof b, MSG_DONTWAIT);
      if (n > 0) c.buf.append(b, static_cast<std::size_t>(n));
      return testing::hello_pid(c.buf) > 0;
    }));
    c.pid = testing::hello_pid(c.buf);
    return c;
  };
  std::vector<Conn> conns;
  for (int i = 0; i < 8; ++i) conns.push_back(open_conn());
  const int a_pid = conns[0].pid;
  // Close every connection of worker A; the census notices.
  std::erase_if(conns, [&](const Conn& c) { return c.pid == a_pid; });
  const std::size_t b_open = conns.size();
  ASSERT_GE(b_open, 1u);
  auto open_of = [&](int pid) {
    const json d = h.primary.describe();
    for (const auto& w : d["workers"]) {
      if (h.workers[w["id"].get<int>()]->pid == pid) return w["open_connections"].get<int>();
    }
    return -1;
  };
  ASSERT_TRUE(h.loop.run_until([&] { return open_of(a_pid) == 0; })) << h.primary.describe().dump();
  EXPECT_EQ(open_of(conns[0].pid), static_cast<int>(b_open));
  EXPECT_TRUE(h.primary.describe()["sock_diag"].get<bool>());
  // The next b_open connections all go to A, the idle one.
  for (std::size_t i = 0; i < b_open; ++i) EXPECT_EQ(open_conn().pid, a_pid);
}

TEST(ClusterPrimary, DisconnectMakesTheWorkerCloseAndExit) {
  ClusterHarness h(LoadBalance::round_robin);
  const int port = testing::free_port();
  ASSERT_TRUE(h.start_http_workers(2, port));
  h.primary.disconnect(1);
  ASSERT_TRUE(h.loop.run_until([&] { return h.workers[1]->closed; }));
  EXPECT_EQ(h.primary.worker_count(), 1u);
  h.workers[1]->reap();
  EXPECT_EQ(h.workers[1]->exit_code, 0);
  const auto r = testing::run_http_load(h, port, 10, 1);
  EXPECT_EQ(r.ok, 10);
  EXPECT_EQ(r.per_pid.size(), 1u);
}

TEST(ClusterPrimary, UnixSocketPathServesHttp) {
  ClusterHarness h(LoadBalance::round_robin);
  const std::string path = "/tmp/drove-cluster-test-" + std::to_string(::getpid()) + ".sock";
  for (int id = 1; id <= 2; ++id) ASSERT_NE(h.start(id, "unix_app.js", {{"SOCKET_PATH", path}}), nullptr);
  ASSERT_TRUE(h.wait_listening(1) && h.wait_listening(2));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  std::atomic<int> pids_ok{0};
  std::set<int> pids;
  std::atomic<bool> finished{false};
  std::thread client([&] {
    for (int i = 0; i < 6; ++i) {
      const int pid =
          testing::hello_pid(testing::exchange(reinterpret_cast<sockaddr*>(&a), sizeof a, testing::kHttpGet).reply);
      if (pid > 0) {
        pids.insert(pid);
        pids_ok++;
      }
    }
    finished = true;
  });
  EXPECT_TRUE(h.loop.run_until([&] { return finished.load(); }));
  client.join();
  EXPECT_EQ(pids_ok.load(), 6);
  EXPECT_EQ(pids.size(), 2u);
  h.primary.close_all();
  EXPECT_NE(::access(path.c_str(), F_OK), 0);  // the path is removed with the socket
}

TEST(ClusterPrimary, UdpIsSharedAndEchoes) {
  ClusterHarness h(LoadBalance::round_robin);
  const int port = testing::free_port();
  for (int id = 1; id <= 2; ++id) ASSERT_NE(h.start(id, "udp_app.js", {{"PORT", std::to_string(port)}}), nullptr);
  ASSERT_TRUE(h.wait_listening(1) && h.wait_listening(2));
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::sendto(s.get(), "ping", 4, 0, reinterpret_cast<sockaddr*>(&a), sizeof a), 4);
  std::string reply;
  ASSERT_TRUE(h.loop.run_until([&] {
    char b[256];
    const ssize_t n = ::recv(s.get(), b, sizeof b, MSG_DONTWAIT);
    if (n > 0) reply.assign(b, static_cast<std::size_t>(n));
    return !reply.empty();
  }));
  EXPECT_EQ(reply.substr(0, 4), "pid ");
  EXPECT_NE(reply.find("ping"), std::string::npos);
  EXPECT_EQ(h.primary.describe()["servers"][0]["kind"], "udp");
}

TEST(ClusterPrimary, ActivationFdsAreSharedListeningSockets) {
  testing::TestLoop loop;
  ClusterPrimary primary(loop.get(), LoadBalance::reuseport, {});
  auto slot0 = primary.activation_fds({{"127.0.0.1", 0, "http"}}, 0);
  ASSERT_TRUE(slot0.ok()) << slot0.error().message();
  auto slot1 = primary.activation_fds({{"127.0.0.1", 0, "http"}}, 1);
  ASSERT_TRUE(slot1.ok());
  auto again = primary.activation_fds({{"127.0.0.1", 0, "http"}}, 0);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(slot0->at(0), again->at(0));  // the same slot gets the same socket
  EXPECT_NE(slot0->at(0), slot1->at(0));  // reuseport: one per slot, on one port
  sockaddr_in a0{}, a1{};
  socklen_t l0 = sizeof a0, l1 = sizeof a1;
  ::getsockname(slot0->at(0), reinterpret_cast<sockaddr*>(&a0), &l0);
  ::getsockname(slot1->at(0), reinterpret_cast<sockaddr*>(&a1), &l1);
  EXPECT_EQ(a0.sin_port, a1.sin_port);
}

}  // namespace
}  // namespace drove::cluster
