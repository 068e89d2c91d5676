// The keeper (keeper/keeper.hpp) on its own: its record framing, and what it does when the
// program it keeps exits (a clean exit ends it, a hand-over starts the program again at once, a
// program that keeps dying before `ready` makes it give up). Each keeper runs in a forked child:
// it changes the signal mask and becomes a subreaper, which the test process must not.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "keeper/keeper.hpp"
#include "keeper/protocol.hpp"

namespace drove::keeper {
namespace {

// Runs a keeper of `sh -c script` in a child process; its exit status (or -1 after 20 s).
int keep(const std::string& script, int max_fast_crashes = 10) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int status = run({.exe = "/bin/sh", .argv = {"sh", "-c", script}, .max_fast_crashes = max_fast_crashes});
    ::_exit(status);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string scratch_file() {
  char path[] = "/tmp/drove-keeper-test-XXXXXX";
  const int fd = ::mkstemp(path);
  ::close(fd);
  ::unlink(path);
  return path;
}

int count_lines(const std::string& path) {
  FILE* in = std::fopen(path.c_str(), "r");
  if (in == nullptr) return 0;
  int lines = 0;
  for (int c; (c = std::fgetc(in)) != EOF;) lines += c == '\n';
  std::fclose(in);
  return lines;
}

TEST(Keeper, ACleanExitOfTheDaemonEndsTheKeeperWithItsStatus) {
  const std::string starts = scratch_file();
  EXPECT_EQ(keep("echo start >> " + starts + "; exit 3"), 3);
  EXPECT_EQ(count_lines(starts), 1);
  ::unlink(starts.c_str());
}

TEST(Keeper, AHandOverStartsTheDaemonAgainAndTellsItSo) {
  const std::string starts = scratch_file();
  // The first run hands over (status 75); the second sees DROVE_KEEPER_RESTART and ends.
  const std::string script =
      "echo \"${DROVE_KEEPER_RESTART:-first}\" >> " + starts + "; test -n \"$DROVE_KEEPER_RESTART\" && exit 0; exit 75";
  EXPECT_EQ(keep(script), 0);
  FILE* in = std::fopen(starts.c_str(), "r");
  ASSERT_NE(in, nullptr);
  char first[16] = {}, second[16] = {};
  ASSERT_EQ(std::fscanf(in, "%15s %15s", first, second), 2);
  std::fclose(in);
  EXPECT_STREQ(first, "first");
  EXPECT_STREQ(second, "1");
  ::unlink(starts.c_str());
}

TEST(Keeper, ADaemonThatCrashesBeforeReadyIsRetriedThenGivenUp) {
  const std::string starts = scratch_file();
  EXPECT_EQ(keep("echo start >> " + starts + "; kill -SEGV $$", /*max_fast_crashes=*/3), 1);
  EXPECT_EQ(count_lines(starts), 4);  // the first start and three restarts
  ::unlink(starts.c_str());
}

TEST(KeeperProtocol, RecordsCarryOneDescriptorAndAnythingElseIsRefused) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ASSERT_TRUE(send_record(pair[0], {.op = Op::hold, .token = 42, .a = 7, .b = 9}, pipe_fds[1]));
  Record record;
  UniqueFd fd;
  ASSERT_EQ(receive_record(pair[1], record, fd, true), Received::record);
  EXPECT_EQ(record.op, Op::hold);
  EXPECT_EQ(record.token, 42u);
  EXPECT_EQ(record.a, 7);
  EXPECT_EQ(record.b, 9);
  ASSERT_TRUE(fd);
  EXPECT_EQ(::write(fd.get(), "x", 1), 1);  // the same pipe
  char byte = 0;
  EXPECT_EQ(::read(pipe_fds[0], &byte, 1), 1);

  EXPECT_EQ(receive_record(pair[1], record, fd, true), Received::again);

  Record wrong;
  wrong.magic = 0x12345678;
  ASSERT_TRUE(send_record(pair[0], wrong));
  EXPECT_EQ(receive_record(pair[1], record, fd, true), Received::bad);
  Record other_protocol;
  other_protocol.protocol = kProtocol + 1;
  ASSERT_TRUE(send_record(pair[0], other_protocol));
  EXPECT_EQ(receive_record(pair[1], record, fd, true), Received::bad);
  ASSERT_EQ(::send(pair[0], "short", 5, 0), 5);
  EXPECT_EQ(receive_record(pair[1], record, fd, true), Received::bad);
  EXPECT_FALSE(fd);

  ::close(pair[0]);
  EXPECT_EQ(receive_record(pair[1], record, fd, true), Received::eof);
  ::close(pair[1]);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

}  // namespace
}  // namespace drove::keeper
