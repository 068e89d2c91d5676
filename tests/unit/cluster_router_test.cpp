// Router on real sockets with a fake sender: clients connect to a SocketTable listener on
// 127.0.0.1, the router accepts and "hands over" through a Send that records the connection
// (by inode) instead of writing to a channel; the test answers for the workers with on_reply()
// and on_delivery().
#include "cluster/router.hpp"

#include <sys/socket.h>
#include <sys/stat.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cluster_test_support.hpp"

namespace drove::cluster {
namespace {

struct Sent {
  WorkerId worker = 0;
  std::string key;
  std::int64_t seq = 0;
  ino_t inode = 0;  // the router's connection, not kept: the fake holds no copy of it
};

struct RouterTest : ::testing::Test {
  testing::TestLoop loop;
  std::vector<Sent> sent;
  std::set<WorkerId> broken;  // workers whose channel refuses every write
  std::int64_t next_seq = 1;
  SocketTable table{{}, [this](const SocketTable::Entry& closing) {
                      if (router) router->forget(closing.key);
                    }};
  std::optional<Router> router;  // after `table`: its polls close before the table's fds
  SocketTable::Entry* entry = nullptr;
  int port = 0;
  std::vector<UniqueFd> clients;

  void start(LoadBalance policy, Router::Options options = {}) {
    router.emplace(loop.get(), policy, table, options,
                   [this](WorkerId worker, const std::string& key, const Connection& conn) -> Result<std::int64_t> {
                     if (broken.count(worker) != 0) return SysError{EPIPE, "channel closed"};
                     struct stat st {};
                     EXPECT_EQ(::fstat(conn->get(), &st), 0);
                     sent.push_back({worker, key, next_seq, st.st_ino});
                     return next_seq++;
                   });
    auto opened = table.open("k", {.address = std::string("127.0.0.1"), .port = 0});
    ASSERT_TRUE(opened.ok()) << opened.error().message();
    entry = opened.value();
    port = entry->port;
  }

  void join(WorkerId worker) {
    router->add_worker(worker);
    table.join(*entry, worker);
    router->drain_held();
    router->refresh_accepting();
  }

  // A client connects (into the listener's backlog); the router accepts when it may.
  void connect_client() {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    clients.push_back(std::move(fd));
  }
  bool wait_sent(std::size_t n) {
    return loop.run_until([&] { return sent.size() >= n; });
  }
  // Whether the router closed the connection of `client` (its end reads EOF).
  static bool closed_by_router(const UniqueFd& client) {
    char byte = 0;
    return ::recv(client.get(), &byte, 1, MSG_DONTWAIT) == 0;
  }
  std::uint64_t counter(WorkerId worker, const char* name) {
    return router->describe_worker(worker)[name].get<std::uint64_t>();
  }
};

TEST_F(RouterTest, RoundRobinHandsConnectionsToWorkersInJoinOrder) {
  start(LoadBalance::round_robin);
  join(3);
  join(1);
  join(2);
  EXPECT_TRUE(router->accepting("k"));
  for (std::size_t i = 0; i < 6; ++i) {
    connect_client();
    ASSERT_TRUE(wait_sent(i + 1));
    router->on_reply(sent.back().worker, sent.back().seq, true);
  }
  std::vector<WorkerId> order;
  for (const auto& s : sent) order.push_back(s.worker);
  EXPECT_EQ(order, (std::vector<WorkerId>{3, 1, 2, 3, 1, 2}));
  EXPECT_EQ(router->accepted("k"), 6u);
  EXPECT_EQ(counter(1, "accepted"), 2u);
  EXPECT_EQ(counter(1, "in_flight"), 0u);
}

TEST_F(RouterTest, FullWindowStopsAcceptingUntilTheWorkerAnswers) {
  start(LoadBalance::round_robin, {.window_per_worker = 2});
  join(1);
  for (int i = 0; i < 4; ++i) connect_client();
  ASSERT_TRUE(wait_sent(2));
  // Two unanswered: the other two connections wait in the kernel's backlog, not in the router.
  EXPECT_EQ(sent.size(), 2u);
  EXPECT_FALSE(router->accepting("k"));
  EXPECT_EQ(router->accepted("k"), 2u);
  EXPECT_EQ(router->held_count(), 0u);
  router->on_reply(1, sent[0].seq, true);
  EXPECT_TRUE(router->accepting("k"));
  ASSERT_TRUE(wait_sent(3));
  EXPECT_FALSE(router->accepting("k"));
  router->on_reply(1, sent[1].seq, true);
  ASSERT_TRUE(wait_sent(4));
  EXPECT_EQ(counter(1, "handed"), 4u);
}

TEST_F(RouterTest, RefusedConnectionGoesToAnotherWorker) {
  start(LoadBalance::round_robin);
  join(1);
  join(2);
  connect_client();
  ASSERT_TRUE(wait_sent(1));
  ASSERT_EQ(sent[0].worker, 1);
  router->on_reply(1, sent[0].seq, false);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].worker, 2);
  EXPECT_EQ(sent[1].inode, sent[0].inode);  // the same connection
  EXPECT_EQ(counter(1, "rejected"), 1u);
  EXPECT_FALSE(closed_by_router(clients[0]));  // ours until a worker accepts it
  router->on_reply(2, sent[1].seq, true);
  // The worker has its own copy now; the router's is closed (and here nobody else holds one).
  EXPECT_TRUE(loop.run_until([&] { return closed_by_router(clients[0]); }));
  EXPECT_EQ(counter(2, "in_flight"), 0u);
}

TEST_F(RouterTest, HandOverWhoseFdNeverArrivedGoesToAnotherWorker) {
  start(LoadBalance::round_robin);
  join(1);
  join(2);
  connect_client();
  ASSERT_TRUE(wait_sent(1));
  router->on_delivery(1, sent[0].seq, false);  // NACK: the line came without its fd
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].worker, 2);
  EXPECT_EQ(sent[1].inode, sent[0].inode);
}

TEST_F(RouterTest, DeadWorkersUndeliveredHandOversMoveAndDeliveredOnesClose) {
  start(LoadBalance::round_robin);
  join(1);
  join(2);
  router->stop_routing(2);  // everything goes to worker 1 for now
  connect_client();
  connect_client();
  ASSERT_TRUE(wait_sent(2));
  ASSERT_EQ(sent[0].worker, 1);
  ASSERT_EQ(sent[1].worker, 1);
  router->on_delivery(1, sent[0].seq, true);  // its process has the first one
  table.leave_all(1);                         // worker 1 dies
  router->remove_worker(1);
  // It may have read the request already: closing our copy is all that is left.
  EXPECT_TRUE(loop.run_until([&] { return closed_by_router(clients[0]); }));
  // The second never reached it; worker 2 is not routable, so it waits in the held queue.
  EXPECT_EQ(router->held_count(), 1u);
  EXPECT_FALSE(closed_by_router(clients[1]));
  join(3);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[2].worker, 3);
  EXPECT_EQ(sent[2].inode, sent[1].inode);
  EXPECT_EQ(router->held_count(), 0u);
}

TEST_F(RouterTest, HeldConnectionIsClosedAfterHoldMs) {
  start(LoadBalance::round_robin, {.hold_ms = 20});
  join(1);
  connect_client();
  ASSERT_TRUE(wait_sent(1));
  router->stop_routing(1);
  router->on_reply(1, sent[0].seq, false);
  ASSERT_EQ(router->held_count(), 1u);
  EXPECT_FALSE(closed_by_router(clients[0]));
  ASSERT_TRUE(loop.run_until([&] {
    router->resume();  // the tick's second half: expired held connections are dropped
    return router->held_count() == 0;
  }));
  EXPECT_TRUE(loop.run_until([&] { return closed_by_router(clients[0]); }));
}

TEST_F(RouterTest, HeldQueueIsBounded) {
  start(LoadBalance::round_robin, {.max_held_connections = 1});
  join(1);
  connect_client();
  connect_client();
  ASSERT_TRUE(wait_sent(2));
  router->stop_routing(1);
  router->on_reply(1, sent[0].seq, false);
  router->on_reply(1, sent[1].seq, false);
  EXPECT_EQ(router->held_count(), 1u);
  EXPECT_FALSE(closed_by_router(clients[0]));
  // No room: closed rather than kept.
  EXPECT_TRUE(loop.run_until([&] { return closed_by_router(clients[1]); }));
}

TEST_F(RouterTest, WorkerWhoseChannelRefusesIsSkipped) {
  start(LoadBalance::round_robin);
  join(1);
  join(2);
  broken.insert(1);
  connect_client();
  ASSERT_TRUE(wait_sent(1));
  EXPECT_EQ(sent[0].worker, 2);
  broken.clear();  // too late: it stays skipped until remove_worker()
  for (int i = 0; i < 2; ++i) connect_client();
  ASSERT_TRUE(wait_sent(3));
  EXPECT_EQ(sent[1].worker, 2);
  EXPECT_EQ(sent[2].worker, 2);
}

TEST_F(RouterTest, NoRoutableWorkerMeansNoAccepting) {
  start(LoadBalance::round_robin);
  join(1);
  EXPECT_TRUE(router->accepting("k"));
  router->stop_routing(1);
  EXPECT_FALSE(router->accepting("k"));
  EXPECT_FALSE(router->routable(1));
}

TEST_F(RouterTest, LeastConnectionsPicksTheWorkerWithFewestOpen) {
  start(LoadBalance::least_connections);
  join(1);
  connect_client();
  connect_client();
  ASSERT_TRUE(wait_sent(2));
  join(2);
  // Worker 1 has two open connections, worker 2 none: both new ones go to 2 (round-robin
  // would give the first to 1).
  connect_client();
  ASSERT_TRUE(wait_sent(3));
  connect_client();
  ASSERT_TRUE(wait_sent(4));
  EXPECT_EQ(sent[2].worker, 2);
  EXPECT_EQ(sent[3].worker, 2);
  EXPECT_EQ(counter(1, "open_connections"), 2u);
  EXPECT_EQ(counter(2, "open_connections"), 2u);
}

TEST_F(RouterTest, SharedPolicyNeverAccepts) {
  start(LoadBalance::shared);
  join(1);
  EXPECT_FALSE(router->accepts_on(*entry));
  EXPECT_FALSE(router->accepting("k"));
}

TEST_F(RouterTest, KeyTheTableClosesIsForgotten) {
  start(LoadBalance::round_robin);
  join(1);
  ASSERT_TRUE(router->accepting("k"));
  table.close_all();  // on_closing: the poll goes before the fd
  EXPECT_FALSE(router->accepting("k"));
  router->refresh_accepting();
  EXPECT_FALSE(router->accepting("k"));
}

}  // namespace
}  // namespace drove::cluster
