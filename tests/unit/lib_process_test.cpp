// drove/process.hpp: spawn, exec, exec_file, the sync forms, stdio, timeouts, max_buffer, kill.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <drove/process.hpp>

namespace drove {
namespace {

TEST(LibProcess, SpawnStreamsStdoutAndStderrAndReportsTheExit) {
  EventLoop loop;
  auto child = spawn(loop, "sh", {"-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(child.ok()) << child.error().message();
  std::string out, err;
  std::optional<ExitInfo> exited, closed;
  child->on_stdout([&](std::string_view s) { out.append(s); });
  child->on_stderr([&](std::string_view s) { err.append(s); });
  child->on_exit([&](ExitInfo e) { exited = e; });
  child->on_close([&](ExitInfo e) { closed = e; });
  loop.run();  // returns once the child is gone and its pipes closed
  ASSERT_TRUE(exited && closed);
  EXPECT_EQ(exited->code, 3);
  EXPECT_EQ(out, "out\n");
  EXPECT_EQ(err, "err\n");
}

TEST(LibProcess, MissingProgramIsATypedError) {
  EventLoop loop;
  auto child = spawn(loop, "/nonexistent/program");
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.error().code, ENOENT);
}

TEST(LibProcess, StdinPipeFeedsTheChild) {
  EventLoop loop;
  auto child = spawn(loop, "cat");
  ASSERT_TRUE(child.ok());
  std::string out;
  child->on_stdout([&](std::string_view s) { out.append(s); });
  ASSERT_TRUE(child->write_stdin("hello ").ok());
  ASSERT_TRUE(child->write_stdin("cat").ok());
  child->end_stdin();
  loop.run();
  EXPECT_EQ(out, "hello cat");
  EXPECT_TRUE(child->exit_info()->success());
}

TEST(LibProcess, KillDeliversTheSignal) {
  EventLoop loop;
  auto child = spawn(loop, "sleep", {"30"}, {.stdio = {Stdio::ignore(), Stdio::ignore(), Stdio::ignore()}});
  ASSERT_TRUE(child.ok());
  ASSERT_TRUE(child->kill(SIGTERM).ok());
  ASSERT_TRUE(loop.run_until([&] { return !child->running(); }, 10000));
  EXPECT_EQ(child->exit_info()->signal, SIGTERM);
  EXPECT_EQ(child->kill().error().code, ESRCH);  // never a recycled pid
}

TEST(LibProcess, ExecRunsThroughTheShellAndCollectsOutput) {
  EventLoop loop;
  std::optional<ExecResult> result;
  ASSERT_TRUE(exec(loop, "echo hello | tr a-z A-Z", [&](ExecResult r) { result = std::move(r); }).ok());
  loop.run();
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->success());
  EXPECT_EQ(result->out, "HELLO\n");
}

TEST(LibProcess, ExecFileTimeoutKillsAndReportsEtimedout) {
  EventLoop loop;
  std::optional<ExecResult> result;
  ASSERT_TRUE(exec_file(loop, "sleep", {"30"}, [&](ExecResult r) { result = std::move(r); }, {.timeout_ms = 100}).ok());
  ASSERT_TRUE(loop.run_until([&] { return result.has_value(); }, 10000));
  ASSERT_TRUE(result->error);
  EXPECT_EQ(result->error->code, ETIMEDOUT);
  EXPECT_EQ(result->exit.signal, SIGTERM);
}

TEST(LibProcess, ExecMaxBufferStopsAChattyChild) {
  EventLoop loop;
  std::optional<ExecResult> result;
  ASSERT_TRUE(exec(loop, "yes", [&](ExecResult r) { result = std::move(r); }, {.max_buffer = 1000}).ok());
  ASSERT_TRUE(loop.run_until([&] { return result.has_value(); }, 10000));
  ASSERT_TRUE(result->error);
  EXPECT_EQ(result->error->code, ENOBUFS);
  EXPECT_EQ(result->out.size(), 1000u);
}

TEST(LibProcess, SyncFormsNeedNoLoop) {
  auto r = exec_sync("echo $((6 * 7))");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "42\n");
  auto f = exec_file_sync("sh", {"-c", "echo oops >&2; exit 2"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->exit.code, 2);
  EXPECT_EQ(f->err, "oops\n");
  auto t = exec_file_sync("sleep", {"30"}, {.timeout_ms = 100});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->error->code, ETIMEDOUT);
}

TEST(LibProcess, EnvAndCwdReachTheChild) {
  EventLoop loop;
  std::optional<ExecResult> result;
  ASSERT_TRUE(exec(loop, "echo $GREETING; pwd", [&](ExecResult r) { result = std::move(r); },
                   {.env = Environment{{"GREETING", "bonjour"}, {"PATH", "/usr/bin:/bin"}}, .cwd = "/tmp"})
                  .ok());
  loop.run();
  EXPECT_EQ(result->out, "bonjour\n/tmp\n");
}

// The state letter of /proc/<pid>/stat ('Z' for a zombie), '?' once the pid is gone.
char proc_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ? '?' : stat[close + 2];
}

// Polls until `pid` is a zombie (it has exited and nobody has waited for it yet).
bool wait_zombie(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (proc_state(pid) != 'Z') {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// A program that embeds the library keeps its own children: the loop waits only for the pids
// it started (no waitpid(-1)), so the host's waitpid still finds its child and its status.
TEST(LibProcess, TheLoopNeverReapsTheHostProgramsOwnChildren) {
  const pid_t own = ::fork();
  ASSERT_GE(own, 0);
  if (own == 0) ::_exit(7);
  ASSERT_TRUE(wait_zombie(own));  // its SIGCHLD is pending or delivered before the loop runs

  EventLoop loop;
  std::optional<ExitInfo> done;
  for (int i = 0; i < 3; ++i) {  // several SIGCHLDs and exits while the host child is a zombie
    auto child = spawn(loop, "true");
    ASSERT_TRUE(child.ok()) << child.error().message();
    child->on_close([&](ExitInfo e) { done = e; });
    loop.run();
    ASSERT_TRUE(done && done->success());
    done.reset();
  }
  EXPECT_EQ(proc_state(own), 'Z');
  int status = 0;
  ASSERT_EQ(::waitpid(own, &status, 0), own);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

// Two loops in one process each see their own children's exits, whatever the order.
TEST(LibProcess, TwoLoopsEachReapTheirOwnChildren) {
  EventLoop first, second;
  auto a = spawn(first, "sh", {"-c", "exit 3"});
  auto b = spawn(second, "sh", {"-c", "exit 4"});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(wait_zombie(a->pid()));
  second.run();  // b's exit; a is not touched
  ASSERT_TRUE(b->exit_info());
  EXPECT_EQ(b->exit_info()->code, 4);
  EXPECT_EQ(proc_state(a->pid()), 'Z');
  first.run();
  ASSERT_TRUE(a->exit_info());
  EXPECT_EQ(a->exit_info()->code, 3);
}

}  // namespace
}  // namespace drove
