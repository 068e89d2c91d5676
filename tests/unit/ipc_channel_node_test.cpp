// Channel against a real node child (plain IPC, no NODE_UNIQUE_ID): messages both ways, fds
// both ways, Node's ACK discipline.
#include <gtest/gtest.h>

#include "cluster/listener.hpp"
#include "cluster_test_support.hpp"

namespace drove::ipc {
namespace {

using nlohmann::json;
using testing::NodeChild;
using testing::TestLoop;

bool got(const NodeChild& c, const json& value) {
  return c.has_message([&](const json& m) { return m == value; });
}

TEST(ChannelWithNode, ExchangesMessagesBothWays) {
  TestLoop loop;
  auto child = testing::start_node(loop.get(), testing::fixture("channel_child.js"), {});
  ASSERT_TRUE(child);
  ASSERT_TRUE(loop.run_until([&] { return got(*child, "ready"); }));
  const json hello = {{"hello", "from parent"}, {"s", "line\nbreak \xE2\x80\xA8 你好"}, {"n", 1}};
  ASSERT_TRUE(child->channel->send(hello).ok());
  ASSERT_TRUE(child->channel->send("plain string").ok());
  ASSERT_TRUE(loop.run_until([&] {
    return child->has_message([&](const json& m) {
      return m.is_object() && m.value("echo", json()) == hello;
    }) && child->has_message([&](const json& m) { return m.is_object() && m.value("echo", json()) == "plain string"; });
  }));
  EXPECT_EQ(child->channel->handles_awaiting_ack(), 0u);
}

TEST(ChannelWithNode, SentConnectedSocketIsUsedByNode) {
  TestLoop loop;
  auto child = testing::start_node(loop.get(), testing::fixture("channel_child.js"), {});
  ASSERT_TRUE(child);
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd ours(sv[0]);
  ASSERT_TRUE(cluster::set_nonblocking(sv[1]).ok());
  ASSERT_TRUE(child->channel->send_handle({{"kind", "socket"}}, UniqueFd(sv[1]), "net.Socket").ok());
  ASSERT_TRUE(loop.run_until(
      [&] { return child->channel->handles_awaiting_ack() == 0 && child->channel->queued_messages() == 0; }));
  timeval tv{5, 0};
  ::setsockopt(ours.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string text;
  char buf[256];
  for (ssize_t n; (n = ::recv(ours.get(), buf, sizeof buf, 0)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  EXPECT_EQ(text, "hi from node " + std::to_string(child->pid));
}

TEST(ChannelWithNode, SentListeningServerIsServedByNode) {
  TestLoop loop;
  auto child = testing::start_node(loop.get(), testing::fixture("channel_child.js"), {});
  ASSERT_TRUE(child);
  auto listener = cluster::open_listener({.address = std::string("127.0.0.1"), .port = 0});
  ASSERT_TRUE(listener.ok()) << listener.error().message();
  const int port = listener->port;
  ASSERT_TRUE(child->channel->send_handle({{"kind", "server"}}, std::move(listener->fd), "net.Server").ok());
  ASSERT_TRUE(loop.run_until([&] { return got(*child, json{{"kind", "server-ok"}}); }));
  EXPECT_EQ(testing::tcp_exchange(port, "").reply, "served by child");
}

TEST(ChannelWithNode, HandleFromNodeIsReceivedAndAcked) {
  TestLoop loop;
  auto child = testing::start_node(loop.get(), testing::fixture("channel_child.js"), {});
  ASSERT_TRUE(child);
  ASSERT_TRUE(child->channel->send({{"kind", "send-me-a-server"}}).ok());
  // Node holds 'after-handle' until our ACK: seeing it proves the ACK went out.
  ASSERT_TRUE(loop.run_until([&] { return got(*child, "after-handle"); }));
  ASSERT_EQ(child->handles.size(), 1u);
  const auto it = std::find_if(child->messages.begin(), child->messages.end(),
                               [](const json& m) { return m.is_object() && m.value("kind", "") == "my-server"; });
  ASSERT_NE(it, child->messages.end());
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(child->handles[0].get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
  EXPECT_EQ(ntohs(a.sin_port), (*it)["port"].get<int>());
  int listening = 0;
  len = sizeof listening;
  ASSERT_EQ(::getsockopt(child->handles[0].get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len), 0);
  EXPECT_EQ(listening, 1);
}

TEST(ChannelWithNode, PeerExitClosesTheChannelOnce) {
  TestLoop loop;
  auto child = testing::start_node(loop.get(), testing::fixture("channel_child.js"), {});
  ASSERT_TRUE(child);
  int closes = 0;
  child->on_closed = [&] { ++closes; };
  ASSERT_TRUE(child->channel->send("exit").ok());
  ASSERT_TRUE(loop.run_until([&] { return child->closed; }));
  EXPECT_EQ(closes, 1);
  EXPECT_FALSE(child->channel->send("late").ok());
  child->reap();
  EXPECT_EQ(child->exit_code, 0);
}

TEST(ChannelWithNode, GracefulCloseFlushesThenNodeSeesDisconnect) {
  TestLoop loop;
  auto child = testing::start_node(loop.get(), testing::fixture("channel_child.js"), {});
  ASSERT_TRUE(child);
  ASSERT_TRUE(loop.run_until([&] { return got(*child, "ready"); }));
  ASSERT_TRUE(child->channel->send("last words").ok());
  child->channel->close();
  EXPECT_FALSE(child->channel->send("too late").ok());
  ASSERT_TRUE(loop.run_until([&] { return child->closed; }));
  EXPECT_TRUE(
      child->has_message([](const json& m) { return m.is_object() && m.value("echo", json()) == "last words"; }));
}

}  // namespace
}  // namespace drove::ipc
