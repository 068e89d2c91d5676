// SocketTable on real sockets (127.0.0.1, a unix path in a temporary directory): one socket per
// key, the per-app cap, per-slot reuseport sockets, activation sockets, and when a key closes.
#include "cluster/socket_table.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/clock.hpp"
#include "cluster_test_support.hpp"

namespace drove::cluster {
namespace {

ListenRequest loopback(int port = 0) { return {.address = std::string("127.0.0.1"), .port = port}; }

// Whether a connect() to 127.0.0.1:port is refused (a listening socket takes it into its
// backlog even when nobody accepts).
bool refuses(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno == ECONNREFUSED;
}

struct Closed {
  std::vector<std::string> keys;
  SocketTable::OnClosing hook() {
    return [this](const SocketTable::Entry& entry) { keys.push_back(entry.key); };
  }
};

TEST(SocketTable, OneSocketPerKeyOpenedOnceAndSharedByEveryWorker) {
  SocketTable table({});
  auto first = table.open("a", loopback());
  ASSERT_TRUE(first.ok()) << first.error().message();
  SocketTable::Entry& entry = *first.value();
  EXPECT_GT(entry.port, 0);  // port 0 resolved
  auto again = table.open("a", loopback());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), &entry);
  auto fd1 = table.socket_for(entry, 1);
  auto fd2 = table.socket_for(entry, 2);
  ASSERT_TRUE(fd1.ok() && fd2.ok());
  EXPECT_EQ(fd1.value(), entry.listener.fd.get());
  EXPECT_EQ(fd2.value(), fd1.value());
  table.join(entry, 1);
  table.join(entry, 2);
  table.join(entry, 1);
  EXPECT_EQ(entry.workers, (std::vector<WorkerId>{1, 2}));  // join order, once each
  EXPECT_FALSE(refuses(entry.port));
}

TEST(SocketTable, CapRefusesANewKeyWithEmfileButNeverAnOpenOneOrActivation) {
  SocketTable table({.max_listeners = 2, .app_name = "capped"});
  ASSERT_TRUE(table.admit("a").ok());
  ASSERT_TRUE(table.open("a", loopback()).ok());
  ASSERT_TRUE(table.admit("b").ok());
  ASSERT_TRUE(table.open("b", loopback()).ok());
  const auto refused = table.admit("c");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, EMFILE);
  EXPECT_TRUE(table.admit("a").ok());  // already open: asking again costs nothing
  // Activation sockets are fixed by the app's config: past the cap, and not counted.
  auto fds = table.activation_fds({{.address = "127.0.0.1", .port = testing::free_port()}}, 0);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  EXPECT_EQ(table.entries().size(), 3u);
  EXPECT_FALSE(table.admit("c").ok());
}

TEST(SocketTable, KeyNobodyHoldsClosesOnlyAfterTheGrace) {
  Closed closed;
  SocketTable table({.unused_listener_close_ms = 10000}, closed.hook());
  auto opened = table.open("a", loopback());
  ASSERT_TRUE(opened.ok());
  const int port = opened.value()->port;
  table.join(*opened.value(), 1);
  table.close_unused(monotonic_ms() + 60000);
  EXPECT_NE(table.find("a"), nullptr);  // held: never closed as unused

  table.leave_all(1);
  const std::int64_t left = monotonic_ms();
  table.close_unused(left);
  ASSERT_NE(table.find("a"), nullptr);  // kept for a restart...
  EXPECT_FALSE(refuses(port));
  table.close_unused(left + 10000);  // ...not forever
  EXPECT_EQ(table.find("a"), nullptr);
  EXPECT_EQ(closed.keys, std::vector<std::string>{"a"});
  EXPECT_TRUE(refuses(port));
}

TEST(SocketTable, WorkerThatRejoinsInTimeKeepsItsSocket) {
  SocketTable table({.unused_listener_close_ms = 10000});
  auto opened = table.open("a", loopback());
  ASSERT_TRUE(opened.ok());
  table.join(*opened.value(), 1);
  table.leave("a", 1, SocketTable::Leaving::on_its_way_out);
  EXPECT_NE(opened.value()->unheld_since_ms, 0);
  table.join(*opened.value(), 2);  // the replacement
  EXPECT_EQ(opened.value()->unheld_since_ms, 0);
  table.close_unused(monotonic_ms() + 60000);
  EXPECT_NE(table.find("a"), nullptr);
}

TEST(SocketTable, AppClosingItsLastServerClosesTheKeyAtOnce) {
  Closed closed;
  SocketTable table({}, closed.hook());
  auto opened = table.open("a", loopback());
  ASSERT_TRUE(opened.ok());
  const int port = opened.value()->port;
  table.join(*opened.value(), 1);
  table.join(*opened.value(), 2);
  table.leave("a", 1, SocketTable::Leaving::app_closed_it);
  ASSERT_NE(table.find("a"), nullptr);  // worker 2 still serves it
  table.leave("a", 2, SocketTable::Leaving::app_closed_it);
  EXPECT_EQ(table.find("a"), nullptr);
  EXPECT_EQ(closed.keys, std::vector<std::string>{"a"});
  EXPECT_TRUE(refuses(port));
}

TEST(SocketTable, CloseUnheldKeepsTheKeysAWorkerHolds) {
  Closed closed;
  SocketTable table({}, closed.hook());
  auto held = table.open("held", loopback());
  auto unheld = table.open("unheld", loopback());
  ASSERT_TRUE(held.ok() && unheld.ok());
  table.join(*held.value(), 1);
  table.close_unheld();
  EXPECT_NE(table.find("held"), nullptr);
  EXPECT_EQ(table.find("unheld"), nullptr);
  table.close_all();
  EXPECT_TRUE(table.entries().empty());
  EXPECT_EQ(closed.keys, (std::vector<std::string>{"unheld", "held"}));
}

TEST(SocketTable, PerSlotKeyHasOneReuseportSocketPerSlotOnOnePort) {
  SocketTable table({.per_slot_tcp = true});
  auto opened = table.open("a", loopback());
  ASSERT_TRUE(opened.ok());
  SocketTable::Entry& entry = *opened.value();
  EXPECT_FALSE(entry.listener.fd.valid());
  auto slot0 = table.socket_for(entry, 0);
  ASSERT_TRUE(slot0.ok()) << slot0.error().message();
  const int port = entry.port;
  EXPECT_GT(port, 0);  // the first slot picked it
  auto slot1 = table.socket_for(entry, 1);
  ASSERT_TRUE(slot1.ok()) << slot1.error().message();
  EXPECT_NE(slot0.value(), slot1.value());
  EXPECT_EQ(entry.port, port);                                   // every other slot joined it
  EXPECT_EQ(table.socket_for(entry, 0).value(), slot0.value());  // a replacement gets the same socket
  table.release_slot(1);
  EXPECT_EQ(entry.slots.size(), 1u);
  EXPECT_EQ(entry.slots.count(0), 1u);
  // UDP is never per slot.
  auto udp = table.open("u", {.kind = SocketKind::udp, .address = std::string("127.0.0.1")});
  ASSERT_TRUE(udp.ok()) << udp.error().message();
  EXPECT_TRUE(udp.value()->listener.fd.valid());
}

TEST(SocketTable, ActivationSocketsAreBlockingSharedAndKeptWithoutWorkers) {
  const int port = testing::free_port();
  SocketTable table({});
  auto first = table.activation_fds({{.address = "127.0.0.1", .port = port}}, 0);
  auto second = table.activation_fds({{.address = "127.0.0.1", .port = port}}, 1);
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_EQ(first.value().size(), 1u);
  EXPECT_EQ(first.value(), second.value());
  EXPECT_EQ(::fcntl(first.value()[0], F_GETFL) & O_NONBLOCK, 0);  // as systemd hands them out
  const SocketTable::Entry* entry = table.find("activation:127.0.0.1:" + std::to_string(port));
  ASSERT_NE(entry, nullptr);
  EXPECT_TRUE(entry->activation);
  table.close_unused(monotonic_ms() + 3600000);
  table.leave_all(1);
  EXPECT_NE(table.find(entry->key), nullptr);  // nobody joins it; it is never unused
}

TEST(SocketTable, UnixPathIsRemovedWhenTheKeyCloses) {
  char tmpl[] = "/tmp/drove-unit-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const std::string path = dir + "/app.sock";
  {
    SocketTable table({});
    auto opened = table.open("unix", {.kind = SocketKind::unix_path, .address = path, .port = -1});
    ASSERT_TRUE(opened.ok()) << opened.error().message();
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    table.close_all();
    EXPECT_NE(::stat(path.c_str(), &st), 0);
  }
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace drove::cluster
