#include "supervisor/restart_policy.hpp"

#include <gtest/gtest.h>

namespace drove::supervisor {
namespace {

using Action = RestartDecision::Action;

TEST(RestartPolicy, StableExitRestartsImmediatelyByDefault) {
  auto d = decide_restart({}, {.exit_code = 1, .uptime_ms = 5000}, {});
  EXPECT_EQ(d.action, Action::restart);
  EXPECT_EQ(d.delay_ms, 0);
  EXPECT_EQ(d.next.unstable_restarts, 0);
}

TEST(RestartPolicy, StopExitCodeDoesNotRestart) {
  RestartPolicy p;
  p.stop_exit_codes = {0, 3};
  EXPECT_EQ(decide_restart(p, {.exit_code = 3, .uptime_ms = 10}, {}).action, Action::stop);
  EXPECT_EQ(decide_restart(p, {.exit_code = 2, .uptime_ms = 10}, {}).action, Action::restart);
  // A signal has no exit code, so it never matches stop_exit_codes.
  EXPECT_EQ(decide_restart(p, {.exit_code = std::nullopt, .uptime_ms = 10}, {}).action, Action::restart);
}

TEST(RestartPolicy, AutorestartOffStops) {
  RestartPolicy p;
  p.autorestart = false;
  EXPECT_EQ(decide_restart(p, {.exit_code = 1, .uptime_ms = 10}, {}).action, Action::stop);
}

TEST(RestartPolicy, CrashLoopEndsErroredAfterMaxRestarts) {
  RestartPolicy p;
  p.max_restarts = 3;
  RestartHistory h;
  int restarts = 0;
  for (;;) {
    auto d = decide_restart(p, {.exit_code = 1, .uptime_ms = 50}, h);
    if (d.action != Action::restart) {
      EXPECT_EQ(d.action, Action::errored);
      break;
    }
    h = d.next;
    ++restarts;
    ASSERT_LT(restarts, 10);
  }
  // Three short runs in all: the first two are restarted, the third ends the loop (as PM2).
  EXPECT_EQ(restarts, 2);
}

TEST(RestartPolicy, StableRunResetsUnstableCount) {
  RestartPolicy p;
  auto d = decide_restart(p, {.exit_code = 1, .uptime_ms = 5000}, {.unstable_restarts = 15});
  EXPECT_EQ(d.action, Action::restart);
  EXPECT_EQ(d.next.unstable_restarts, 0);
}

TEST(RestartPolicy, MinUptimeIsTheUnstableThreshold) {
  RestartPolicy p;
  p.min_uptime_ms = 200;
  EXPECT_EQ(decide_restart(p, {.exit_code = 1, .uptime_ms = 199}, {}).next.unstable_restarts, 1);
  EXPECT_EQ(decide_restart(p, {.exit_code = 1, .uptime_ms = 200}, {}).next.unstable_restarts, 0);
}

TEST(RestartPolicy, RestartDelayIsApplied) {
  RestartPolicy p;
  p.restart_delay_ms = 750;
  EXPECT_EQ(decide_restart(p, {.exit_code = 1, .uptime_ms = 5000}, {}).delay_ms, 750);
}

TEST(RestartPolicy, ExponentialBackoffGrowsByHalfAndCaps) {
  RestartPolicy p;
  p.exp_backoff_restart_delay_ms = 100;
  p.max_restarts = 1000;
  RestartHistory h;
  std::vector<std::int64_t> delays;
  for (int i = 0; i < 14; ++i) {
    auto d = decide_restart(p, {.exit_code = 1, .uptime_ms = 10}, h);
    delays.push_back(d.delay_ms);
    h = d.next;
  }
  EXPECT_EQ(delays[0], 100);
  EXPECT_EQ(delays[1], 150);
  EXPECT_EQ(delays[2], 225);
  EXPECT_EQ(delays[3], 337);
  EXPECT_EQ(delays.back(), kBackoffCapMs);
}

TEST(RestartPolicy, ExponentialBackoffResetsAfterLongRun) {
  RestartPolicy p;
  p.exp_backoff_restart_delay_ms = 100;
  auto d = decide_restart(p, {.exit_code = 1, .uptime_ms = kBackoffResetUptimeMs}, {.last_backoff_ms = 8000});
  EXPECT_EQ(d.delay_ms, 100);
  auto d2 = decide_restart(p, {.exit_code = 1, .uptime_ms = kBackoffResetUptimeMs - 1}, {.last_backoff_ms = 8000});
  EXPECT_EQ(d2.delay_ms, 12000);
}

}  // namespace
}  // namespace drove::supervisor
