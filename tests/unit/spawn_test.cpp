#include "process/spawn.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>

namespace drove::process {
namespace {

std::vector<std::string> plain_env() { return {"PATH=/usr/local/bin:/usr/bin:/bin"}; }

int wait_exit_code(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Spawn, RunsProgramFoundInPath) {
  auto pid = spawn({.file = "true", .argv = {"true"}, .env = plain_env()});
  ASSERT_TRUE(pid.ok()) << pid.error().message();
  EXPECT_EQ(wait_exit_code(pid.value()), 0);
}

TEST(Spawn, MissingProgramIsTypedErrorNotExit127) {
  auto pid = spawn({.file = "/nonexistent/app", .argv = {"app"}, .env = plain_env()});
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.error().code, ENOENT);
  EXPECT_NE(pid.error().message().find("/nonexistent/app"), std::string::npos);
}

TEST(Spawn, BadWorkingDirectoryIsReported) {
  auto pid = spawn({.file = "true", .argv = {"true"}, .env = plain_env(), .cwd = "/nonexistent-dir"});
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.error().code, ENOENT);
  EXPECT_NE(pid.error().message().find("change directory"), std::string::npos);
}

TEST(Spawn, ListenPidIsTheChildsOwnPid) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto pid = spawn({.file = "sh",
                    .argv = {"sh", "-c", "printf %s \"$LISTEN_PID\""},
                    .env = plain_env(),
                    .fds = {{1, fds[1]}},
                    .set_listen_pid = true});
  ::close(fds[1]);
  ASSERT_TRUE(pid.ok());
  char buf[32] = {};
  ssize_t n = ::read(fds[0], buf, sizeof buf - 1);
  ::close(fds[0]);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::atoi(buf), pid.value());
  EXPECT_EQ(wait_exit_code(pid.value()), 0);
}

}  // namespace
}  // namespace drove::process

#include "process/notify_socket.hpp"

namespace drove::process {
namespace {

TEST(NotifySocket, ParsesAssignmentsLikeSystemd) {
  auto f = NotifySocket::parse("READY=1\nSTATUS=serving on :8080\n\nBAD\nMAINPID=42");
  EXPECT_EQ(f.at("READY"), "1");
  EXPECT_EQ(f.at("STATUS"), "serving on :8080");
  EXPECT_EQ(f.at("MAINPID"), "42");
  EXPECT_EQ(f.count("BAD"), 0u);
}

}  // namespace
}  // namespace drove::process
