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
  const char* stat = "42 (a) (b) c) S 7 42 42 0 -1 4194560 1 0 0 0 5 6 0 0 20 0 1 0 123456 1000 25 0";
  ASSERT_TRUE(ProcTable::parse_stat(stat, entry));
  EXPECT_EQ(entry.pid, 42);
  EXPECT_EQ(entry.ppid, 7);
  EXPECT_EQ(entry.start_ticks, 123456u);
}

}  // namespace
}  // namespace drove::process
