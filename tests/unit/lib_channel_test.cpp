// drove/channel.hpp and drove::fork: Node-framed messages with fds between two C++ ends, and a
// forked C++ child (this test binary re-executed) talking back over Channel::from_parent().
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstdlib>

#include <drove/channel.hpp>
#include <drove/process.hpp>

namespace drove {
namespace {

TEST(LibChannel, MessagesAndFdsCrossAPair) {
  EventLoop loop;
  auto pair = Channel::make_pair();
  ASSERT_TRUE(pair.ok());
  auto a = Channel::open(loop, std::move(pair->first));
  auto b = Channel::open(loop, std::move(pair->second));
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<nlohmann::json> got;
  UniqueFd got_fd;
  b->on_message([&](nlohmann::json m, UniqueFd fd) {
    got.push_back(std::move(m));
    if (fd) got_fd = std::move(fd);
  });
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd keep(sv[0]);
  ASSERT_TRUE(a->send({{"n", 1}}).ok());
  ASSERT_TRUE(a->send("with fd", UniqueFd(sv[1])).ok());
  ASSERT_TRUE(a->send({{"cmd", "NODE_SOMETHING"}}).ok());  // internal: never a user message
  ASSERT_TRUE(a->send("last").ok());
  ASSERT_TRUE(loop.run_until([&] { return got.size() == 3; }, 5000));
  EXPECT_EQ(got[0], (nlohmann::json{{"n", 1}}));
  EXPECT_EQ(got[1], "with fd");
  EXPECT_EQ(got[2], "last");
  ASSERT_TRUE(got_fd.valid());
  ASSERT_EQ(::send(got_fd.get(), "x", 1, 0), 1);  // the very socket we sent
  char c = 0;
  EXPECT_EQ(::recv(keep.get(), &c, 1, 0), 1);
  bool disconnected = false;
  b->on_disconnect([&] { disconnected = true; });
  a->disconnect();
  ASSERT_TRUE(loop.run_until([&] { return disconnected; }, 5000));
  EXPECT_FALSE(b->connected());
}

TEST(LibChannel, FromParentWithoutAChannelIsEnoent) {
  EventLoop loop;
  ASSERT_FALSE(Channel::has_parent());
  auto c = Channel::from_parent(loop);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ENOENT);
}

// The child side of ForkedCppChildTalksBack: runs when this binary is re-executed by fork().
TEST(LibChannel, ChildRole) {
  if (!std::getenv("DROVE_LIB_TEST_CHILD")) GTEST_SKIP() << "only as the forked child";
  EventLoop loop;
  auto parent = Channel::from_parent(loop);
  ASSERT_TRUE(parent.ok());
  EXPECT_EQ(std::getenv("NODE_CHANNEL_FD"), nullptr);  // removed, as Node does
  parent->on_message([&](nlohmann::json m, UniqueFd) { (void)parent->send({{"echo", m}}); });
  loop.run();
}

TEST(LibChannel, ForkedCppChildTalksBack) {
  EventLoop loop;
  ForkOptions options;
  Environment env = current_environment();
  env["DROVE_LIB_TEST_CHILD"] = "1";
  options.spawn.env = env;
  options.spawn.stdio = {Stdio::ignore(), Stdio::ignore(), Stdio::inherit()};
  auto child = drove::fork(loop, "/proc/self/exe", {"--gtest_filter=LibChannel.ChildRole"}, options);
  ASSERT_TRUE(child.ok()) << child.error().message();
  std::optional<nlohmann::json> reply;
  child->on_message([&](nlohmann::json m, UniqueFd) { reply = std::move(m); });
  ASSERT_TRUE(child->send({{"ping", true}}).ok());
  ASSERT_TRUE(loop.run_until([&] { return reply.has_value(); }, 10000));
  EXPECT_EQ((*reply)["echo"]["ping"], true);
  std::optional<ExitInfo> closed;
  child->on_close([&](ExitInfo e) { closed = e; });
  child->disconnect();  // the child's loop ends when its channel closes
  ASSERT_TRUE(loop.run_until([&] { return closed.has_value(); }, 10000));
  EXPECT_TRUE(closed->success());
}

}  // namespace
}  // namespace drove
