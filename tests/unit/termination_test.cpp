// Graceful termination of a process tree (process/termination.hpp), driven by a fake clock: a
// scripted "world" says what is alive at each time and records the signals, the way the
// supervisor's timer and reaper drive it for real.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "process/termination.hpp"

namespace drove::process {
namespace {

struct Trace {
  std::vector<std::int64_t> stop_signals;  // times the stop signal went to the tree
  std::vector<std::int64_t> kills;         // times SIGKILL went
  std::int64_t done_at = -1;
  bool gave_up = false;
  int steps = 0;
};

// Runs the termination from t=0 (the first step is the one right after the stop signal or the
// disconnect was sent), waking when the step asks, or at once when `main_alive` changes (the
// reaper reports an exit without waiting for the timer).
Trace run(const TerminationPlan& plan, const std::function<bool(std::int64_t)>& main_alive,
          const std::function<bool(std::int64_t)>& tree_alive, bool signalled_at_start = true) {
  Trace trace;
  TerminationState state{.began_ms = 0, .signalled = signalled_at_start};
  if (signalled_at_start) trace.stop_signals.push_back(0);
  std::int64_t now = 0;
  while (trace.steps++ < 100000) {
    const TerminationStep step = next_termination_step(state, plan, {now, main_alive(now), tree_alive(now)});
    state = step.next;
    if (step.signal_stop) trace.stop_signals.push_back(now);
    if (step.kill) trace.kills.push_back(now);
    if (step.done) {
      trace.done_at = now;
      trace.gave_up = step.gave_up;
      return trace;
    }
    EXPECT_GT(step.wake_in_ms, 0) << "at " << now;
    std::int64_t wake = now + step.wake_in_ms;
    // The reaper wakes us at the exit of the main process, before the timer would.
    for (std::int64_t t = now + 1; t < wake; ++t) {
      if (main_alive(t) != main_alive(now)) {
        wake = t;
        break;
      }
    }
    now = wake;
  }
  ADD_FAILURE() << "never done";
  return trace;
}

const TerminationPlan kPlan{.kill_timeout_ms = 1600, .give_up_after_kill_ms = 5000, .tree_poll_ms = 5};

TEST(Termination, AProcessThatExitsOnTheStopSignalIsNeverKilled) {
  const auto trace = run(
      kPlan, [](std::int64_t t) { return t < 300; }, [](std::int64_t) { return false; });
  EXPECT_TRUE(trace.kills.empty());
  EXPECT_EQ(trace.done_at, 300);
  EXPECT_FALSE(trace.gave_up);
}

TEST(Termination, AProcessThatIgnoresTheStopSignalIsKilledAtKillTimeoutExactly) {
  // It dies of SIGKILL 2 ms after it is sent.
  const auto trace = run(
      kPlan, [](std::int64_t t) { return t < 1600 + 2; }, [](std::int64_t) { return false; });
  ASSERT_EQ(trace.kills, std::vector<std::int64_t>{1600});
  EXPECT_EQ(trace.done_at, 1602);
  EXPECT_LT(trace.steps, 10) << "one wake-up for the deadline, not a poll every few ms";
}

TEST(Termination, ChildrenOutlivingTheirParentAreWaitedForAndSignalledOnceIfItLeftByMessage) {
  // Stopped by message (cluster disconnect): no stop signal yet. The parent exits at 100; its
  // children at 450, after the stop signal they get when it has gone.
  const auto trace = run(
      kPlan, [](std::int64_t t) { return t < 100; }, [](std::int64_t t) { return t < 450; },
      /*signalled_at_start=*/false);
  EXPECT_EQ(trace.stop_signals, std::vector<std::int64_t>{100});
  EXPECT_TRUE(trace.kills.empty());
  // Watched every tree_poll_ms once the parent is gone: over within one poll of the last exit.
  EXPECT_GE(trace.done_at, 450);
  EXPECT_LT(trace.done_at, 450 + kPlan.tree_poll_ms);
}

TEST(Termination, ChildrenIgnoringTheStopSignalAreKilledAtTheDeadline) {
  const auto trace = run(
      kPlan, [](std::int64_t t) { return t < 50; }, [](std::int64_t t) { return t < 1700; });
  EXPECT_EQ(trace.kills, std::vector<std::int64_t>{1600});
  EXPECT_GE(trace.done_at, 1700);
  EXPECT_LT(trace.done_at, 1700 + kPlan.tree_poll_ms);
  EXPECT_FALSE(trace.gave_up);
}

TEST(Termination, ATreeThatSurvivesSigkillIsGivenUpOnAfterTheGrace) {
  const auto trace = run(
      kPlan, [](std::int64_t t) { return t < 1601; }, [](std::int64_t) { return true; });
  EXPECT_EQ(trace.kills, std::vector<std::int64_t>{1600});
  EXPECT_TRUE(trace.gave_up);
  EXPECT_GE(trace.done_at, 1600 + 5000);
  EXPECT_LT(trace.done_at, 1600 + 5000 + kPlan.tree_poll_ms);
}

TEST(Termination, AMainProcessAlreadyGoneWithNothingLeftIsDoneAtOnce) {
  const auto trace = run(
      kPlan, [](std::int64_t) { return false; }, [](std::int64_t) { return false; });
  EXPECT_EQ(trace.done_at, 0);
  EXPECT_EQ(trace.steps, 1);
  EXPECT_TRUE(trace.kills.empty());
}

TEST(Termination, AZeroKillTimeoutKillsOnTheFirstStep) {
  TerminationPlan plan = kPlan;
  plan.kill_timeout_ms = 0;
  const auto trace = run(
      plan, [](std::int64_t t) { return t < 1; }, [](std::int64_t) { return false; });
  EXPECT_EQ(trace.kills, std::vector<std::int64_t>{0});
  EXPECT_EQ(trace.done_at, 1);
}

}  // namespace
}  // namespace drove::process
