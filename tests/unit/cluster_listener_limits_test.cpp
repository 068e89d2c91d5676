// What the cluster primary holds for an app, and with whose rights: the bind helper (sockets
// opened as the app's user), the per-app listener cap, and closing listeners nobody holds.
// The helper tests need root (they switch to the user nobody) and skip without it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cluster/listener.hpp"
#include "cluster_harness.hpp"

namespace drove::cluster {
namespace {

using nlohmann::json;

BindIdentity nobody() {
  BindIdentity as;
  as.uid = 65534;
  as.gid = 65534;
  as.groups = {65534};
  return as;
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/drove-unit-XXXXXX";
    path = ::mkdtemp(tmpl);
    ::chmod(path.c_str(), 0755);
  }
  ~TempDir() {
    const std::string cmd = "rm -rf '" + path + "'";
    const int ignored = std::system(cmd.c_str());
    (void)ignored;
  }
};

TEST(BindHelper, UnixSocketIsCreatedAsTheUserWithTheModeAtBind) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to the user nobody";
  TempDir dir;
  ASSERT_EQ(::chown(dir.path.c_str(), 65534, 65534), 0);
  const std::string path = dir.path + "/app.sock";
  auto l = open_listener({.kind = SocketKind::unix_path, .address = path, .writable_all = true}, nobody());
  ASSERT_TRUE(l.ok()) << l.error().message();
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_mode & 0777, 0622u);
  ASSERT_TRUE(remove_socket_path(path, nobody()).ok());
  EXPECT_NE(::lstat(path.c_str(), &st), 0);
}

TEST(BindHelper, RefusesWhatTheUserCouldNotDo) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to the user nobody";
  TempDir dir;  // root-owned, 0755: nobody may not create files here
  auto l = open_listener({.kind = SocketKind::unix_path, .address = dir.path + "/app.sock"}, nobody());
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, EACCES);
  EXPECT_NE(l.error().message().find("bind " + dir.path + "/app.sock"), std::string::npos) << l.error().message();

  // A dead root-owned socket in a sticky directory (like /tmp) is not nobody's to remove as
  // "stale": the daemon, binding for nobody, may not remove it either.
  const std::string root_path = dir.path + "/root.sock";
  auto root_socket = open_listener({.kind = SocketKind::unix_path, .address = root_path});
  ASSERT_TRUE(root_socket.ok());
  root_socket->fd.reset();
  ASSERT_EQ(::chmod(dir.path.c_str(), 01777), 0);
  auto again = open_listener({.kind = SocketKind::unix_path, .address = root_path}, nobody());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, EADDRINUSE) << again.error().message();
  struct stat st {};
  ASSERT_EQ(::lstat(root_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
}

TEST(BindHelper, PrivilegedPortNeedsTheOption) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to the user nobody";
  std::ifstream start_file("/proc/sys/net/ipv4/ip_unprivileged_port_start");
  int unprivileged_start = 0;
  start_file >> unprivileged_start;
  if (unprivileged_start != 1024) {
    GTEST_SKIP() << "ip_unprivileged_port_start is not 1024 here";
  }
  // Port 1 is almost never in use; EADDRINUSE would mean the permission check passed.
  auto denied = open_listener({.address = std::string("127.0.0.1"), .port = 1}, nobody());
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, EACCES) << denied.error().message();
  BindIdentity allowed = nobody();
  allowed.allow_privileged_ports = true;
  auto l = open_listener({.address = std::string("127.0.0.1"), .port = 1}, allowed);
  if (!l.ok()) {
    EXPECT_EQ(l.error().code, EADDRINUSE) << l.error().message();
  }
}

// Not a benchmark gate: prints what one helper round-trip costs the daemon's loop here.
TEST(BindHelper, RoundTripCost) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to the user nobody";
  constexpr int kBinds = 100;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kBinds; ++i) {
    auto l = open_listener({.address = std::string("127.0.0.1"), .port = 0}, nobody());
    ASSERT_TRUE(l.ok()) << l.error().message();
  }
  const auto helper_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count() / kBinds;
  const auto start_in_process = std::chrono::steady_clock::now();
  for (int i = 0; i < kBinds; ++i) {
    auto l = open_listener({.address = std::string("127.0.0.1"), .port = 0});
    ASSERT_TRUE(l.ok()) << l.error().message();
  }
  const auto in_process_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_in_process)
          .count() /
      kBinds;
  std::cout << "[ bind ] helper " << helper_us << " us per listener, in-process " << in_process_us << " us\n";
}

TEST(ClusterPrimaryLimits, QueriesPastTheCapGetEmfile) {
  ClusterPrimary::Options options;
  options.max_listeners = 2;
  options.app_name = "capped";
  testing::ClusterHarness h(LoadBalance::round_robin, options);
  // Three workers of app.js on three ports: the third server is refused.
  for (int id = 1; id <= 3; ++id) {
    ASSERT_NE(h.start(id, "app.js", {{"PORT", std::to_string(testing::free_port())}, {"HOST", "127.0.0.1"}}), nullptr);
    // One at a time, so which one is third is known.
    ASSERT_TRUE(h.loop.run_until([&] {
      return h.workers[id]->has_message(
          [](const json& m) { return m.value("event", "") == "listening" || m.value("event", "") == "error"; });
    }));
  }
  EXPECT_TRUE(h.workers[3]->has_message([](const json& m) { return m.value("code", "") == "EMFILE"; }));
  EXPECT_FALSE(h.workers[2]->has_message([](const json& m) { return m.value("event", "") == "error"; }));
  EXPECT_EQ(h.primary.describe()["servers"].size(), 2u);
}

TEST(ClusterPrimaryLimits, ListenerNobodyHoldsIsClosedAfterTheGrace) {
  ClusterPrimary::Options options;
  options.unused_listener_close_ms = 200;
  options.tick_ms = 20;
  testing::ClusterHarness h(LoadBalance::round_robin, options);
  const int port = testing::free_port();
  ASSERT_TRUE(h.start_http_workers(1, port));
  ::kill(h.workers[1]->pid, SIGKILL);
  ASSERT_TRUE(h.loop.run_until([&] { return h.primary.worker_count() == 0; }));
  EXPECT_EQ(h.primary.describe()["servers"].size(), 1u);                                   // kept for a restart...
  ASSERT_TRUE(h.loop.run_until([&] { return h.primary.describe()["servers"].empty(); }));  // ...not forever
  EXPECT_EQ(testing::tcp_exchange(port, testing::kHttpGet).error, ECONNREFUSED);
}

}  // namespace
}  // namespace drove::cluster
