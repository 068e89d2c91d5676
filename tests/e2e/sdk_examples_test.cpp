// Every example of examples/ runs and prints what its seed's Node program prints.
#include <gtest/gtest.h>
#include <signal.h>

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <set>

#include "sdk_support.hpp"

namespace drove::e2e {
namespace {

std::set<std::string> pids_in(const std::string& text, const std::string& prefix) {
  std::set<std::string> pids;
  const std::regex re(prefix + "([0-9]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    pids.insert((*it)[1]);
  return pids;
}

TEST(SdkExamples, ForkMessagesExchangesOneMessageWithEachWorker) {
  const auto r = run_program({example("fork_messages"), "--workers", "3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_of(r.out, "Master fork done!"), 1) << r.out;
  EXPECT_EQ(count_of(r.out, "worker-: hello world! pid: "), 3) << r.out;
  EXPECT_EQ(count_of(r.out, "father-: halle father!"), 3) << r.out;
  EXPECT_EQ(pids_in(r.out, "pid: ").size(), 3u) << r.out;
}

TEST(SdkExamples, SocketDispatchHandsConnectionsRoundRobinToWorkers) {
  const int port = free_tcp_port();
  RunningExample master("socket_dispatch", {"--port", std::to_string(port), "--workers", "2", "--connections", "4"});
  ASSERT_TRUE(master.wait_output("master and workers is ok!")) << master.out;
  const auto replies = master.while_running([port] {
    std::vector<std::string> r;
    for (int i = 0; i < 4; ++i) r.push_back(tcp_read_all(port));
    return r;
  });
  std::vector<std::string> pids;
  for (const auto& reply : replies) {
    ASSERT_EQ(reply.rfind("handle by worker: ", 0), 0u) << reply;
    pids.push_back(reply.substr(18));
  }
  EXPECT_NE(pids[0], pids[1]);
  EXPECT_EQ(pids[0], pids[2]);  // workers[workerId % n]
  EXPECT_EQ(pids[1], pids[3]);
  ASSERT_TRUE(master.wait_exit());
  EXPECT_EQ(master.exit->code, 0);
}

TEST(SdkExamples, RestartOnExitReplacesEveryWorkerThatExits) {
  const int port = free_tcp_port();
  RunningExample master("restart_on_exit", {"--port", std::to_string(port), "--workers", "2", "--exit-chance", "1"});
  ASSERT_TRUE(master.wait_output("master and workers is ok!")) << master.out;
  std::set<std::string> errored;
  for (int i = 1; i <= 3; ++i) {
    const auto reply = master.while_running([port] { return tcp_read_all(port); });
    ASSERT_EQ(reply.rfind("Error: ", 0), 0u) << reply;
    errored.insert(reply.substr(7));
    ASSERT_TRUE(master.wait_output("进程重启完成,process id: ", i)) << master.out;
  }
  EXPECT_EQ(errored.size(), 3u);  // each reply from a different (new) process
  EXPECT_EQ(count_of(master.out, " 进程退出了"), 3) << master.out;
  ASSERT_TRUE(master.child.kill(SIGINT).ok());  // Ctrl-C: stop restarting, disconnect workers
  ASSERT_TRUE(master.wait_exit());
  EXPECT_EQ(master.exit->code, 0);
}

TEST(SdkExamples, SharedPortWorkersAllAcceptOnTheMastersServer) {
  const int port = free_tcp_port();
  RunningExample master("shared_port", {"--port", std::to_string(port), "--workers", "2", "--connections", "3"});
  ASSERT_TRUE(master.wait_output("share port " + std::to_string(port))) << master.out;
  const auto replies = master.while_running([port] {
    std::vector<std::string> r;
    for (int i = 0; i < 3; ++i) r.push_back(tcp_read_all(port));
    return r;
  });
  for (const auto& reply : replies) EXPECT_EQ(reply.rfind("hello,i am ", 0), 0u) << reply;
  ASSERT_TRUE(master.wait_exit());
  EXPECT_EQ(master.exit->code, 0);
}

class HttpClusterExample : public ::testing::TestWithParam<std::string> {};

TEST_P(HttpClusterExample, ServesHelloFromWorkersAndEndsAfterTheRequests) {
  const int port = free_tcp_port();
  RunningExample primary("http_cluster",
                         {"--port", std::to_string(port), "--workers", "2", "--requests", "4", "--policy", GetParam()});
  ASSERT_TRUE(primary.wait_output("已启动", 2)) << primary.out;
  const auto bodies = primary.while_running([port] {
    std::vector<std::string> r;
    for (int i = 0; i < 4; ++i) {
      std::string reply;
      wait_until([&] { return (reply = http_get(port)).find("200 OK") != std::string::npos; });
      r.push_back(reply);
    }
    return r;
  });
  for (const auto& body : bodies) EXPECT_NE(body.find("你好，世界！"), std::string::npos) << body;
  ASSERT_TRUE(primary.wait_exit()) << primary.out;
  EXPECT_EQ(primary.exit->code, 0);
  EXPECT_EQ(count_of(primary.out, "主进程 "), 1) << primary.out;
  EXPECT_EQ(count_of(primary.out, "已退出"), 2) << primary.out;
}

INSTANTIATE_TEST_SUITE_P(Policies, HttpClusterExample,
                         ::testing::Values("round-robin", "shared", "least-connections", "reuseport"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           n.erase(std::remove(n.begin(), n.end(), '-'), n.end());
                           return n;
                         });

TEST(SdkExamples, DroveHttpAppRunsStandaloneAndStopsOnSigint) {
  const int port = free_tcp_port();
  RunningExample app("drove_http_app", {"--port", std::to_string(port)});
  ASSERT_TRUE(app.wait_output("(standalone)")) << app.out;
  const auto body = app.while_running([port] { return http_get(port); });
  EXPECT_NE(body.find("hello from " + std::to_string(app.child.pid()) + " (standalone)"), std::string::npos) << body;
  ASSERT_TRUE(app.child.kill(SIGINT).ok());
  ASSERT_TRUE(app.wait_exit());
  EXPECT_EQ(app.exit->code, 0);
  EXPECT_NE(app.out.find("stopping"), std::string::npos);
}

// A C++ primary that dies (SIGTERM with no handler, or SIGKILL) leaves no worker behind: each
// worker sees its channel close and exits, as a Node worker does, even with work of its own
// (a timer) that would keep its loop running.
class PrimaryDeath : public ::testing::TestWithParam<int> {};

TEST_P(PrimaryDeath, LeavesNoWorkerRunning) {
  RunningExample primary(DROVE_TEST_LIB_CLUSTER_APP, {"3"});
  ASSERT_TRUE(primary.wait_output("ready\n", 3)) << primary.out;
  const auto workers = pids_in(primary.out, "worker ");
  ASSERT_EQ(workers.size(), 3u) << primary.out;
  ASSERT_TRUE(primary.child.kill(GetParam()).ok());
  ASSERT_TRUE(primary.wait_exit());
  EXPECT_EQ(primary.exit->signal, GetParam());
  // The workers were re-parented (to init, or to a subreaper above us): each must be gone or
  // a zombie (pid_alive is false for both); a zombie of ours is reaped here.
  for (const auto& text : workers) {
    const pid_t pid = std::stoi(text);
    if (!wait_until([pid] { return !pid_alive(pid); }, std::chrono::seconds(15))) {
      ::kill(pid, SIGKILL);  // never leave it running; ours by construction (our child's worker)
      ADD_FAILURE() << "worker " << pid << " outlived its primary";
    }
    (void)::waitpid(pid, nullptr, WNOHANG);
  }
}

INSTANTIATE_TEST_SUITE_P(Signals, PrimaryDeath, ::testing::Values(SIGTERM, SIGKILL),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return p.param == SIGTERM ? "SIGTERM" : "SIGKILL";
                         });

}  // namespace
}  // namespace drove::e2e
