// How the daemon keeps its loop turns short: work queued a batch per turn (TurnQueue), work done
// on the thread pool (run_off_loop, replies serialised off the loop), and the meter that shows
// how long turns are (LoopMeter, `drove ping`). Real libuv loops, real sockets.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/loop_meter.hpp"
#include "base/off_loop.hpp"
#include "base/turn_queue.hpp"
#include "base/unique_fd.hpp"
#include "daemon/rpc_server.hpp"

namespace drove {
namespace {

struct Loop {
  uv_loop_t loop{};
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);  // lets closing handles finish
    uv_loop_close(&loop);
  }
};

// Counts loop turns: a prepare handle runs once per turn.
struct TurnCounter {
  UvHandle<uv_prepare_t> prepare = UvHandle<uv_prepare_t>::make();
  int turns = 0;
  explicit TurnCounter(uv_loop_t* loop) {
    uv_prepare_init(loop, prepare.get());
    prepare->data = this;
    uv_prepare_start(prepare.get(), [](uv_prepare_t* h) { ++static_cast<TurnCounter*>(h->data)->turns; });
    uv_unref(prepare.handle());
  }
};

void busy_for(std::chrono::microseconds span) {
  const auto until = std::chrono::steady_clock::now() + span;
  while (std::chrono::steady_clock::now() < until) {
  }
}

TEST(TurnQueue, RunsAtOnceWhileNothingWaitsThenQueuesInOrder) {
  Loop l;
  std::vector<int> ran;
  TurnQueue queue(&l.loop, "test", [&ran](int id) { ran.push_back(id); });
  const std::int64_t began = monotonic_ms();
  EXPECT_TRUE(queue.push_or_run(1, began));
  EXPECT_EQ(ran, std::vector<int>{1});
  queue.push(2);
  // Once one waits, the next waits behind it even with budget left: order is kept.
  EXPECT_FALSE(queue.push_or_run(3, monotonic_ms()));
  EXPECT_EQ(ran, std::vector<int>{1});
  uv_run(&l.loop, UV_RUN_DEFAULT);
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(queue.empty());
}

TEST(TurnQueue, SpreadsSlowItemsOverTurns) {
  Loop l;
  TurnCounter counter(&l.loop);
  int ran = 0;
  // Each item takes 1 ms: 40 of them must not all run in the turn that queued them.
  TurnQueue queue(&l.loop, "test", [&ran](int) {
    busy_for(std::chrono::milliseconds(1));
    ++ran;
  });
  for (int i = 0; i < 40; ++i) queue.push(i);
  uv_run(&l.loop, UV_RUN_DEFAULT);
  EXPECT_EQ(ran, 40);
  // A budget of 2 ms lets at most 3 such items into a turn (the budget is checked before each).
  EXPECT_GE(counter.turns, 40 / 3);
}

TEST(RunOffLoop, RunsOnAnotherThreadAndReturnsOnTheLoop) {
  Loop l;
  const auto loop_thread = std::this_thread::get_id();
  std::thread::id worked_on;
  std::thread::id done_on;
  int result = 0;
  ASSERT_TRUE(run_off_loop(
      &l.loop, "test",
      [&worked_on] {
        worked_on = std::this_thread::get_id();
        return 42;
      },
      [&](int r) {
        done_on = std::this_thread::get_id();
        result = r;
      }));
  uv_run(&l.loop, UV_RUN_DEFAULT);
  EXPECT_EQ(result, 42);
  EXPECT_NE(worked_on, loop_thread);
  EXPECT_EQ(done_on, loop_thread);
}

TEST(RunOffLoop, AnExceptionOnThePoolIsContainedOnTheLoop) {
  Loop l;
  const auto before = contained_exceptions().load();
  bool done_ran = false;
  ASSERT_TRUE(run_off_loop(
      &l.loop, "test", []() -> int { throw std::runtime_error("boom"); }, [&done_ran](int) { done_ran = true; }));
  uv_run(&l.loop, UV_RUN_DEFAULT);
  EXPECT_FALSE(done_ran);
  EXPECT_EQ(contained_exceptions().load(), before + 1);
}

TEST(LoopMeter, KeepsTheLongestTurnAndAPrometheusHistogram) {
  Loop l;
  LoopMeter meter(&l.loop);
  meter.record(500'000, 400'000, 1'000);       // 0.5 ms
  meter.record(30'000'000, 2'000'000, 2'000);  // 30 ms, 2 ms of it on a CPU
  meter.record(3'000'000, 3'000'000, 3'000);   // 3 ms
  const auto j = meter.to_json();
  EXPECT_EQ(j["turns"], 3);
  EXPECT_DOUBLE_EQ(j["longest_turn_ms"].get<double>(), 30.0);
  EXPECT_EQ(j["longest_turn_at"], 2'000);
  EXPECT_DOUBLE_EQ(j["longest_turn_cpu_ms"].get<double>(), 3.0);
  // Cumulative counts: le 1 ms: 1; le 5 ms: 2; le 50 ms and beyond: 3.
  std::map<std::string, std::uint64_t> count;
  for (const auto& b : j["buckets"]) count[b["le_ms"].dump()] = b["count"].get<std::uint64_t>();
  EXPECT_EQ(count["1.0"], 1u);
  EXPECT_EQ(count["2.0"], 1u);
  EXPECT_EQ(count["5.0"], 2u);
  EXPECT_EQ(count["20.0"], 2u);
  EXPECT_EQ(count["50.0"], 3u);
  EXPECT_EQ(count["\"+Inf\""], 3u);
}

TEST(LoopMeter, KeepsTheLongestTurnOfEachRecentSecond) {
  Loop l;
  LoopMeter meter(&l.loop);
  const std::int64_t now = wall_ms();
  const std::int64_t second = now / 1000;
  meter.record(4'000'000, 1'000'000, second * 1000);      // 4 ms
  meter.record(9'000'000, 8'000'000, second * 1000 + 1);  // 9 ms, same second
  meter.record(500'000, 500'000, (second - 1) * 1000);    // 0.5 ms: not a slow turn, not kept
  meter.record(2'000'000, 2'000'000, (second - 2) * 1000);
  meter.record(50'000'000, 1'000'000, (second - 700) * 1000);  // older than the history
  const auto seconds = meter.to_json(true)["seconds"];
  ASSERT_EQ(seconds.size(), 2u);
  EXPECT_EQ(seconds[0], nlohmann::json({second - 2, 2.0, 2.0}));
  EXPECT_EQ(seconds[1], nlohmann::json({second, 9.0, 8.0}));
  EXPECT_FALSE(meter.to_json().contains("seconds"));
}

TEST(LoopMeter, MeasuresARealBusyTurnAndNotTheTimeSpentWaiting) {
  Loop l;
  LoopMeter meter(&l.loop);
  // One timer that waits 30 ms (idle: not a busy turn), then keeps the loop busy 20 ms.
  auto timer = UvHandle<uv_timer_t>::make();
  uv_timer_init(&l.loop, timer.get());
  uv_timer_start(
      timer.get(), [](uv_timer_t*) { busy_for(std::chrono::milliseconds(20)); }, 30, 0);
  auto again = UvHandle<uv_timer_t>::make();  // one more turn after it, so that it is recorded
  uv_timer_init(&l.loop, again.get());
  uv_timer_start(
      again.get(), [](uv_timer_t*) {}, 60, 0);
  const std::uint64_t began = uv_hrtime();
  uv_run(&l.loop, UV_RUN_DEFAULT);
  const std::uint64_t elapsed = uv_hrtime() - began;
  const std::uint64_t idle = uv_metrics_idle_time(&l.loop);
  const auto j = meter.to_json();
  EXPECT_GE(j["longest_turn_ms"].get<double>(), 20.0);
  // The loop waited for the first timer: that wait is idle time, and no turn counts it.
  EXPECT_GT(idle, 0u);
  const auto busy = static_cast<std::uint64_t>(j["busy_seconds"].get<double>() * 1e9);
  EXPECT_LE(busy, elapsed - idle);
}

// A reply serialised off the loop and one sent directly after it reach the client in order.
// A client socket whose other end is a real RpcConnection of `server`, as an accepted control
// connection is. Null if the socketpair or the pipe cannot be made.
struct ServedClient {
  UniqueFd client;
  std::shared_ptr<daemon::RpcConnection> connection;
  bool closed = false;  // the connection has closed its end

  static std::unique_ptr<ServedClient> connect(uv_loop_t* loop, daemon::RpcServer& server, int client_flags) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return nullptr;
    UniqueFd ours(pair[0]);
    auto served = std::make_unique<ServedClient>();
    served->client = UniqueFd(pair[1]);
    if ((client_flags & SOCK_NONBLOCK) && ::fcntl(pair[1], F_SETFL, O_NONBLOCK) != 0) return nullptr;
    auto pipe = UvHandle<uv_pipe_t>::make();
    uv_pipe_init(loop, pipe.get(), 0);
    if (uv_pipe_open(pipe.get(), ours.release()) != 0) return nullptr;
    served->connection = std::make_shared<daemon::RpcConnection>(server, std::move(pipe));
    served->connection->on_close = [raw = served.get()] { raw->closed = true; };
    served->connection->start();
    return served;
  }
};

// Runs the loop until `count` reply lines have arrived on `client`; returns them parsed.
std::vector<nlohmann::json> read_replies(uv_loop_t* loop, int client, std::size_t count) {
  std::string buffered;
  std::vector<nlohmann::json> replies;
  while (replies.size() < count) {
    uv_run(loop, UV_RUN_NOWAIT);
    char buffer[65536];
    const ssize_t n = ::recv(client, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) buffered.append(buffer, static_cast<std::size_t>(n));
    for (std::size_t nl; (nl = buffered.find('\n')) != std::string::npos; buffered.erase(0, nl + 1)) {
      replies.push_back(nlohmann::json::parse(buffered.substr(0, nl)));
    }
  }
  return replies;
}

TEST(RpcConnection, RepliesSerialisedOffTheLoopKeepTheirOrder) {
  Loop l;
  using daemon::RpcReply;
  using daemon::RpcRequest;
  using daemon::RpcServer;
  RpcServer server(&l.loop, [](const RpcRequest& request, const RpcReply& reply) {
    if (request.method == "big") {
      nlohmann::json rows = nlohmann::json::array();
      for (int i = 0; i < 20000; ++i) rows.push_back({{"id", i}, {"name", "app"}});
      reply.ok_off_loop(std::move(rows));
    } else {
      reply.ok(request.method);
    }
  });
  auto served = ServedClient::connect(&l.loop, server, 0);
  ASSERT_TRUE(served);
  UniqueFd& client = served->client;
  bool& closed = served->closed;

  const std::string requests = R"({"id":1,"method":"big"})"
                               "\n"
                               R"({"id":2,"method":"small"})"
                               "\n"
                               R"({"id":3,"method":"big"})"
                               "\n"
                               R"({"id":4,"method":"last"})"
                               "\n";
  ASSERT_EQ(::write(client.get(), requests.data(), requests.size()), static_cast<ssize_t>(requests.size()));
  std::vector<int> order;
  for (const auto& reply : read_replies(&l.loop, client.get(), 4)) order.push_back(reply["id"].get<int>());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
  client.reset();
  while (!closed) uv_run(&l.loop, UV_RUN_ONCE);
  served->connection.reset();
  server.close();
}

// A client may send its requests, shut down its sending side and then read: `printf ... | socat`,
// or any script. Every request it sent whole is answered (even a reply that comes later, or one
// serialised off the loop) before the daemon hangs up. Before, the EOF closed the connection at
// once and dropped every reply the socket buffer could not take (the fuzzer found it: 278 of 288).
TEST(RpcConnection, AClientThatHalfClosesIsAnsweredEveryRequestItSent) {
  Loop l;
  using daemon::RpcReply;
  using daemon::RpcRequest;
  using daemon::RpcServer;
  std::vector<RpcReply> held;
  RpcServer server(&l.loop, [&held](const RpcRequest& request, const RpcReply& reply) {
    if (request.method == "later") {
      held.push_back(reply);  // answered on a later loop turn, as a stop that waits is
    } else if (request.method == "big") {
      nlohmann::json rows = nlohmann::json::array();
      for (int i = 0; i < 5000; ++i) rows.push_back({{"id", i}});
      reply.ok_off_loop(std::move(rows));
    } else {
      reply.ok(request.method);
    }
  });
  auto timer = UvHandle<uv_timer_t>::make();
  uv_timer_init(&l.loop, timer.get());
  timer->data = &held;
  uv_timer_start(
      timer.get(),
      [](uv_timer_t* t) {
        auto& replies = *static_cast<std::vector<RpcReply>*>(t->data);
        for (const auto& r : replies) r.ok("later");
        replies.clear();
      },
      1, 1);
  auto served = ServedClient::connect(&l.loop, server, SOCK_NONBLOCK);
  ASSERT_TRUE(served);
  UniqueFd& client = served->client;
  bool& closed = served->closed;

  // Far more replies than the socket buffer holds, none read until the client has sent them all.
  constexpr int kRequests = 3000;
  std::string requests;
  for (int id = 1; id <= kRequests; ++id) {
    const char* method = id == 1500 ? "later" : id == 2000 ? "big" : "small";
    requests += nlohmann::json{{"id", id}, {"method", method}}.dump() + "\n";
  }
  requests += R"({"id":0,"method":"unfinished")";  // no newline: not a request
  for (std::size_t sent = 0; sent < requests.size();) {
    const ssize_t n = ::send(client.get(), requests.data() + sent, requests.size() - sent, MSG_NOSIGNAL);
    if (n > 0) sent += static_cast<std::size_t>(n);
    uv_run(&l.loop, UV_RUN_NOWAIT);
  }
  ASSERT_EQ(::shutdown(client.get(), SHUT_WR), 0);

  std::string replies;
  bool eof = false;
  while (!eof) {
    uv_run(&l.loop, UV_RUN_NOWAIT);
    char buffer[65536];
    const ssize_t n = ::recv(client.get(), buffer, sizeof buffer, 0);
    if (n > 0) replies.append(buffer, static_cast<std::size_t>(n));
    eof = n == 0;
    ASSERT_TRUE(n >= 0 || errno == EAGAIN) << std::strerror(errno);
  }
  std::vector<int> ids;
  for (std::size_t start = 0, nl; (nl = replies.find('\n', start)) != std::string::npos; start = nl + 1) {
    ids.push_back(nlohmann::json::parse(replies.substr(start, nl - start))["id"].get<int>());
  }
  ASSERT_EQ(ids.size(), std::size_t{kRequests});
  std::sort(ids.begin(), ids.end());  // "later" comes when it is ready, after those behind it
  for (int i = 0; i < kRequests; ++i) ASSERT_EQ(ids[static_cast<std::size_t>(i)], i + 1);
  while (!closed) uv_run(&l.loop, UV_RUN_ONCE);
  timer.close();
  served->connection.reset();
  server.close();
}

// A connection handed to a helper (drove-web) may call only the methods it was given, each with
// only its parameters: the others are refused before any handler runs.
TEST(RpcConnection, AnAdoptedConnectionMayCallOnlyItsMethodsWithTheirParameters) {
  Loop l;
  using daemon::RpcReply;
  using daemon::RpcRequest;
  using daemon::RpcServer;
  std::vector<std::string> handled;
  RpcServer server(&l.loop, [&handled](const RpcRequest& request, const RpcReply& reply) {
    handled.push_back(request.method + request.params.dump());
    reply.ok(true);
  });
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd client(pair[1]);
  ASSERT_TRUE(server.adopt(UniqueFd(pair[0]), {{"metrics", {}}, {"ping", {}}, {"stop", {"targets"}}}).ok());
  const std::string requests =
      "{\"id\":1,\"method\":\"metrics\"}\n{\"id\":2,\"method\":\"delete\"}\n"
      "{\"id\":3,\"method\":\"ping\"}\n"
      "{\"id\":4,\"method\":\"stop\",\"params\":{\"targets\":[\"api\"]}}\n"
      "{\"id\":5,\"method\":\"stop\",\"params\":{\"targets\":[\"api\"],\"specs\":[]}}\n"
      "{\"id\":6,\"method\":\"metrics\",\"params\":[1]}\n";
  ASSERT_EQ(::write(client.get(), requests.data(), requests.size()), static_cast<ssize_t>(requests.size()));
  const auto got = read_replies(&l.loop, client.get(), 6);
  EXPECT_EQ(handled, (std::vector<std::string>{"metrics{}", "ping{}", "stop{\"targets\":[\"api\"]}"}));
  EXPECT_EQ(got[1]["error"]["code"], "ENOSYS") << got[1].dump();
  EXPECT_EQ(got[1]["error"]["message"], "method 'delete' is not allowed on this connection");
  EXPECT_EQ(got[2]["result"], true);
  EXPECT_EQ(got[3]["result"], true);
  EXPECT_EQ(got[4]["error"]["code"], "EINVAL") << got[4].dump();
  EXPECT_EQ(got[4]["error"]["message"], "parameter 'specs' of 'stop' is not allowed on this connection");
  EXPECT_EQ(got[5]["error"]["message"], "the parameters of 'metrics' must be an object") << got[5].dump();
  client.reset();
  server.close();
  uv_run(&l.loop, UV_RUN_DEFAULT);
}

}  // namespace
}  // namespace drove
