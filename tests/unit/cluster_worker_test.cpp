// ClusterWorker (C++ worker side) against ClusterPrimary over a real socketpair channel.
#include "cluster/cluster_worker.hpp"

#include <gtest/gtest.h>

#include "cluster/cluster_primary.hpp"
#include "cluster_test_support.hpp"

namespace drove::cluster {
namespace {

using nlohmann::json;

// A primary and one C++ worker in the same loop, joined by a channel pair.
struct Pair {
  testing::TestLoop loop;
  std::unique_ptr<ipc::Channel> primary_end, worker_end;
  std::unique_ptr<ClusterPrimary> primary;
  std::unique_ptr<ClusterWorker> worker;
  std::vector<UniqueFd> connections, sockets;
  std::map<std::string, json> listening;
  std::vector<int> errors;

  explicit Pair(LoadBalance policy) {
    auto fds = ipc::Channel::make_pair();
    EXPECT_TRUE(fds.ok());
    primary = std::make_unique<ClusterPrimary>(loop.get(), policy, ClusterPrimary::Events{});
    primary_end = ipc::Channel::open(loop.get(), std::move(fds->first),
                                     {.on_message = [this](json m, UniqueFd fd) { primary->handle_message(1, m, fd); },
                                      .on_close = [this](int) { primary->remove_worker(1); }})
                      .value();
    worker_end = ipc::Channel::open(loop.get(), std::move(fds->second),
                                    {.on_message = [this](json m, UniqueFd fd) { worker->handle_message(m, fd); },
                                     .on_close = nullptr})
                     .value();
    primary->add_worker(1, primary_end.get());
    worker = std::make_unique<ClusterWorker>(
        worker_end.get(),
        ClusterWorker::Callbacks{
            .on_connection = [this](const std::string&, UniqueFd c) { connections.push_back(std::move(c)); },
            .on_listening_socket = [this](const std::string&, UniqueFd s) { sockets.push_back(std::move(s)); },
            .on_listening = [this](const std::string& key, const json& sockname) { listening[key] = sockname; },
            .on_error = [this](const std::string&, int e) { errors.push_back(e); },
            .on_disconnect = nullptr});
    worker->start();
  }
  ~Pair() { primary->remove_worker(1); }
};

TEST(ClusterWorker, RoundRobinConnectionsArriveAsFds) {
  Pair p(LoadBalance::round_robin);
  const std::string key = p.worker->listen_tcp(std::string("127.0.0.1"), 0);
  ASSERT_TRUE(p.loop.run_until([&] { return p.listening.count(key) == 1; }));
  const int port = p.listening[key]["port"].get<int>();
  ASSERT_GT(port, 0);
  ASSERT_TRUE(p.loop.run_until([&] { return p.primary->listening_keys(1).size() == 1; }));
  std::atomic<bool> done{false};
  std::string reply;
  std::thread client([&] {
    reply = testing::tcp_exchange(port, "").reply;
    done = true;
  });
  ASSERT_TRUE(p.loop.run_until([&] { return !p.connections.empty(); }));
  ASSERT_EQ(::send(p.connections[0].get(), "from c++", 8, MSG_NOSIGNAL), 8);
  p.connections.clear();
  EXPECT_TRUE(p.loop.run_until([&] { return done.load(); }));
  client.join();
  EXPECT_EQ(reply, "from c++");
  EXPECT_TRUE(p.loop.run_until([&] { return p.primary->describe()["workers"][0]["accepted"] == 1; }));
}

TEST(ClusterWorker, SharedPolicyGivesTheListeningSocket) {
  Pair p(LoadBalance::shared);
  const std::string key = p.worker->listen_tcp(std::string("127.0.0.1"), 0);
  ASSERT_TRUE(p.loop.run_until([&] { return !p.sockets.empty(); }));
  int listening = 0;
  socklen_t len = sizeof listening;
  ASSERT_EQ(::getsockopt(p.sockets[0].get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len), 0);
  EXPECT_EQ(listening, 1);
  EXPECT_TRUE(p.worker->is_listening(key));
}

TEST(ClusterWorker, BindErrorIsReportedAsNegativeErrno) {
  Pair p(LoadBalance::round_robin);
  auto squatter = open_listener({.address = std::string("127.0.0.1"), .port = 0});
  ASSERT_TRUE(squatter.ok());
  p.worker->listen_tcp(std::string("127.0.0.1"), squatter->port);
  ASSERT_TRUE(p.loop.run_until([&] { return !p.errors.empty(); }));
  EXPECT_EQ(p.errors[0], -EADDRINUSE);
}

}  // namespace
}  // namespace drove::cluster
