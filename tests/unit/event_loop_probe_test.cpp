// The event-loop probe: parsing /proc/<pid>/syscall and wchan, and a real process blocked in
// epoll_wait told apart from one sleeping in something else.
#include "process/event_loop_probe.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace drove::process {
namespace {

TEST(EventLoopProbe, ParsesProcSyscall) {
  EXPECT_EQ(
      parse_proc_syscall(std::to_string(SYS_epoll_pwait) + " 0xe 0x7ffc 0x400 0xffffffff 0x0 0x8 0x7ffc 0x7f12\n"),
      MainThreadWait::event_loop);
  EXPECT_EQ(parse_proc_syscall("441 0x3 0x7ffc 0x400 0x0 0x0 0x8 0x7ffc 0x7f12\n"), MainThreadWait::event_loop);
  EXPECT_EQ(parse_proc_syscall(std::to_string(SYS_clock_nanosleep) + " 0x0 0x0 0x7ffc 0x7ffc 0x0 0x0 0x7ffc 0x7f86\n"),
            MainThreadWait::other);
  EXPECT_EQ(parse_proc_syscall("running\n"), MainThreadWait::other);
  EXPECT_EQ(parse_proc_syscall("-1 0x7ffc 0x7f12\n"), MainThreadWait::other);
  EXPECT_EQ(parse_proc_syscall(""), MainThreadWait::unknown);
}

TEST(EventLoopProbe, ParsesProcWchan) {
  EXPECT_EQ(parse_proc_wchan("do_epoll_wait"), MainThreadWait::event_loop);
  EXPECT_EQ(parse_proc_wchan("ep_poll"), MainThreadWait::event_loop);
  EXPECT_EQ(parse_proc_wchan("hrtimer_nanosleep"), MainThreadWait::other);
  EXPECT_EQ(parse_proc_wchan("0"), MainThreadWait::unknown);
}

// Forks a child that runs `body` then _exits; killed and reaped at the end of the test.
struct Child {
  pid_t pid = -1;
  template <typename Body>
  explicit Child(Body body) {
    pid = ::fork();
    if (pid == 0) {
      body();
      ::_exit(0);
    }
  }
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

bool seen_within(pid_t pid, MainThreadWait wanted, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (main_thread_wait(pid) == wanted) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

TEST(EventLoopProbe, SeesAProcessBlockedInEpollWait) {
  Child child([] {
    const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event event{};
    for (;;) ::epoll_wait(epoll, &event, 1, -1);
  });
  ASSERT_GT(child.pid, 0);
  EXPECT_TRUE(seen_within(child.pid, MainThreadWait::event_loop, std::chrono::seconds(5)));
}

TEST(EventLoopProbe, ASleepingOrBusyProcessIsNotInItsEventLoop) {
  Child sleeper([] {
    for (;;) ::pause();
  });
  Child busy([] {
    volatile unsigned long n = 0;
    for (;;) n = n + 1;
  });
  ASSERT_GT(sleeper.pid, 0);
  ASSERT_GT(busy.pid, 0);
  EXPECT_TRUE(seen_within(sleeper.pid, MainThreadWait::other, std::chrono::seconds(5)));
  // Never event_loop, over many probes.
  for (int i = 0; i < 200; ++i) {
    EXPECT_NE(main_thread_wait(sleeper.pid), MainThreadWait::event_loop);
    EXPECT_NE(main_thread_wait(busy.pid), MainThreadWait::event_loop);
  }
}

TEST(EventLoopProbe, AGoneProcessIsUnknown) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ASSERT_GT(pid, 0);
  ::waitpid(pid, nullptr, 0);
  EXPECT_EQ(main_thread_wait(pid), MainThreadWait::unknown);
}

}  // namespace
}  // namespace drove::process
