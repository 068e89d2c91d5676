// drove/process.hpp: spawn, exec, exec_file, the sync forms, stdio, timeouts, max_buffer, kill.
#include <gtest/gtest.h>
#include <signal.h>

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

}  // namespace
}  // namespace drove
