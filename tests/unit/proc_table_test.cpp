// /proc/<pid>/stat reading: the start time that names one process for its life (the keeper's
// re-adoption checks it before trusting a pid), and a name that holds spaces and parentheses.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process/proc_table.hpp"

namespace drove::process {
namespace {

TEST(ProcTable, StartTicksNameAProcessUntilItIsReaped) {
  EXPECT_GT(start_ticks_of(::getpid()), 0u);
  EXPECT_EQ(start_ticks_of(::getpid()), start_ticks_of(::getpid()));
  const pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ASSERT_GT(child, 0);
  EXPECT_GE(start_ticks_of(child), start_ticks_of(::getpid()));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_EQ(start_ticks_of(child), 0u);
}

TEST(ProcTable, ParseStatReadsFieldsAfterANameWithParentheses) {
  ProcEntry entry;
  const char* stat = "42 (a) (b) c) S 7 42 42 0 -1 4194560 1 0 0 0 5 6 0 0 20 0 3 0 123456 1000 25 0";
  ASSERT_TRUE(ProcTable::parse_stat(stat, entry));
  EXPECT_EQ(entry.pid, 42);
  EXPECT_EQ(entry.ppid, 7);
  EXPECT_EQ(entry.cpu_ticks, 11u);
  EXPECT_EQ(entry.threads, 3u);
  EXPECT_EQ(entry.start_ticks, 123456u);
}

// The footprint counts what the process really holds: two more descriptors show as two more.
TEST(ProcTable, FootprintCountsOpenDescriptorsAndPrivateMemory) {
  const Footprint before = footprint_of(::getpid());
  EXPECT_GT(before.fds, 2u);
  EXPECT_GT(before.private_bytes, 0u);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  EXPECT_EQ(footprint_of(::getpid()).fds, before.fds + 2);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  EXPECT_EQ(footprint_of(::getpid()).fds, before.fds);
  EXPECT_EQ(footprint_of(0).fds, 0u);  // no such process: nothing
}

}  // namespace
}  // namespace drove::process
