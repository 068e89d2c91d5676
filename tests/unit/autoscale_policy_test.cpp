// Autoscaling: the policy as a pure function (signals in, decision out: hysteresis, cool-downs,
// steps, bounds, the seed's load-average rule), and its options as users write them.
#include <gtest/gtest.h>

#include "config/json_document.hpp"
#include "config_test_support.hpp"
#include "supervisor/autoscale.hpp"
#include "supervisor/spec_validator.hpp"

namespace drove::supervisor {
namespace {

using config::testing::corpus_dir;
using config::testing::error_of;
using config::testing::shell_in;
using nlohmann::json;

Autoscale cpu_policy(int min = 1, int max = 4) {
  Autoscale a;
  a.min_instances = min;
  a.max_instances = max;
  a.metric = ScaleMetric::cpu;
  a.target = 70;
  a.up_cooldown_ms = 3000;
  a.down_delay_ms = 10000;
  return a;
}

// Feeds one signal per second from `from_ms`, carrying decisions out as the supervisor does;
// returns the count after each step.
struct Driver {
  Autoscale spec;
  AutoscaleMemory memory;
  int current;
  std::int64_t now = 0;
  AutoscaleDecision last;

  Driver(Autoscale s, int start) : spec(s), current(start) { memory.last_change_ms = 0; }
  int step(double value, std::int64_t advance_ms = 1000, int cpus = 8) {
    now += advance_ms;
    last = decide_autoscale(spec, {current, {true, value}, cpus, 4096, now}, memory);
    current = last.to;
    return current;
  }
};

TEST(AutoscalePolicy, RecommendationIsTheCountAtWhichEachInstanceCarriesTheTarget) {
  const Autoscale a = cpu_policy(1, 8);
  EXPECT_EQ(recommend_instances(a, 0, 1, 8), 1);    // never below min
  EXPECT_EQ(recommend_instances(a, 140, 1, 8), 2);  // 140 / 70: 2, not 3 by rounding
  EXPECT_EQ(recommend_instances(a, 141, 1, 8), 3);
  EXPECT_EQ(recommend_instances(a, 1000, 1, 8), 8);  // never above max
  // Within ±10 % of the target per instance, the count holds (hysteresis in value).
  EXPECT_EQ(recommend_instances(a, 2 * 70 * 1.09, 2, 8), 2);
  EXPECT_EQ(recommend_instances(a, 2 * 70 * 0.91, 2, 8), 2);
  EXPECT_EQ(recommend_instances(a, 2 * 70 * 1.2, 2, 8), 3);
  EXPECT_EQ(recommend_instances(a, 2 * 70 * 0.5, 2, 8), 1);
}

TEST(AutoscalePolicy, TheSeedsLoadAverageRuleIsBoundedByTheCpuCount) {
  Autoscale a = cpu_policy(1, 16);
  a.metric = ScaleMetric::loadavg;
  a.target = 1;  // seed 002: Math.min(Math.ceil(load), numCPUs) workers
  EXPECT_EQ(recommend_instances(a, 2.3, 1, 4), 3);
  EXPECT_EQ(recommend_instances(a, 9.5, 1, 4), 4);
  EXPECT_EQ(recommend_instances(a, 0.2, 3, 4), 1);
}

TEST(AutoscalePolicy, ScalesUpAtOnceThenCoolsDown) {
  Driver d(cpu_policy(1, 8), 1);
  EXPECT_EQ(d.step(100), 2);  // the first sample over the target scales up
  EXPECT_EQ(d.last.from, 1);
  EXPECT_NE(d.last.reason.find("cpu 100% over 1 instance"), std::string::npos) << d.last.reason;
  // Demand grows again at once: the cool-down (3 s) holds the next scale-up...
  EXPECT_EQ(d.step(300), 2);
  EXPECT_NE(d.last.reason.find("cooling down"), std::string::npos);
  EXPECT_EQ(d.step(300), 2);
  // ...until it has passed; then it goes to what the signal asks for, in one step.
  EXPECT_EQ(d.step(300), 5);
}

TEST(AutoscalePolicy, UpStepLimitsEachScaleUp) {
  Autoscale a = cpu_policy(1, 8);
  a.up_step = 1;
  a.up_cooldown_ms = 0;
  Driver d(a, 1);
  EXPECT_EQ(d.step(500), 2);
  EXPECT_EQ(d.step(500), 3);
  EXPECT_EQ(d.step(500), 4);
}

TEST(AutoscalePolicy, ScalesDownOnlyAfterTheWholeWindowAskedForFewer) {
  Driver d(cpu_policy(1, 8), 1);
  EXPECT_EQ(d.step(280), 4);  // at t=1 s
  // Load gone: nothing happens for the scale-down delay (10 s after the change)...
  for (int i = 0; i < 9; ++i) EXPECT_EQ(d.step(0), 4) << "at " << d.now;
  EXPECT_NE(d.last.reason.find("waiting for the scale-down delay"), std::string::npos) << d.last.reason;
  // ...then one instance at a time (down_step 1), each 10 s after the previous change.
  EXPECT_EQ(d.step(0), 3);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(d.step(0), 3);
  EXPECT_EQ(d.step(0), 2);
}

TEST(AutoscalePolicy, ABurstWithinTheWindowHoldsTheScaleDown) {
  Driver d(cpu_policy(1, 8), 1);
  EXPECT_EQ(d.step(200), 3);
  for (int i = 0; i < 8; ++i) d.step(10);
  EXPECT_EQ(d.step(200), 3);  // a burst asking for 3 again, 9 s in
  // 11 s after the change: the window (10 s) still holds the burst's recommendation of 3.
  EXPECT_EQ(d.step(10), 3);
  EXPECT_EQ(d.step(10), 3);
  EXPECT_NE(d.last.reason.find("3 recommended within the last 10000 ms"), std::string::npos) << d.last.reason;
  // Once the burst left the window, it goes down.
  for (int i = 0; i < 8; ++i) d.step(10);
  EXPECT_EQ(d.current, 2);
}

TEST(AutoscalePolicy, FlappingAroundTheTargetNeverChangesTheCount) {
  Driver d(cpu_policy(1, 8), 2);
  d.now = 100000;
  d.memory.last_change_ms = 0;
  for (int i = 0; i < 200; ++i) EXPECT_EQ(d.step(i % 2 ? 150 : 130), 2);  // 140 ± 7 %
}

TEST(AutoscalePolicy, DownStepAndMinimumBoundTheScaleDown) {
  Autoscale a = cpu_policy(2, 8);
  a.down_step = 3;
  Driver d(a, 8);
  d.now = 100000;
  d.step(0);
  EXPECT_EQ(d.current, 5);
  d.now += 20000;
  d.step(0);
  EXPECT_EQ(d.current, 2);  // min 2, not 8 - 3 - 3
}

TEST(AutoscalePolicy, NoMeasurementHoldsAndTheCapBoundsAScaleUp) {
  Driver d(cpu_policy(1, 8), 1);
  d.now = 1000;
  auto held = decide_autoscale(d.spec, {1, {false, 0}, 8, 4096, 2000}, d.memory);
  EXPECT_FALSE(held.changes());
  EXPECT_EQ(held.reason, "no measurement yet");
  auto capped = decide_autoscale(d.spec, {1, {true, 500}, 8, 3, 3000}, d.memory);
  EXPECT_EQ(capped.to, 3);
  auto at_cap = decide_autoscale(d.spec, {3, {true, 500}, 8, 3, 9000}, d.memory);
  EXPECT_FALSE(at_cap.changes());
  EXPECT_NE(at_cap.reason.find("cap"), std::string::npos);
}

TEST(AutoscalePolicy, ACountOutsideTheBoundsComesBackInside) {
  Driver d(cpu_policy(2, 4), 6);  // e.g. resumed after `scale app 6`
  EXPECT_EQ(d.step(70), 4);
  Driver low(cpu_policy(2, 4), 1);
  EXPECT_EQ(low.step(0), 2);
}

// --- the options, as users write them

AppSpec start(const json& flags) {
  auto loaded = config::app_from_script("apps/server.js", flags, shell_in(corpus_dir()));
  return loaded.apps.at(0);
}

TEST(AutoscaleOptions, MaxInstancesTurnsItOnAndStartsAtMin) {
  const AppSpec app = start({{"min_instances", "2"}, {"max_instances", "6"}});
  ASSERT_TRUE(app.autoscale);
  EXPECT_EQ(app.instances, 2);
  EXPECT_EQ(app.exec_mode, ExecMode::cluster);  // a Node app that may run several instances
  EXPECT_EQ(app.autoscale->metric, ScaleMetric::cpu);
  EXPECT_EQ(app.autoscale->target, 70);
  EXPECT_EQ(app.autoscale->down_delay_ms, 30000);
  EXPECT_FALSE(validate_spec(app));
  EXPECT_FALSE(start(json::object()).autoscale);
}

TEST(AutoscaleOptions, EveryKnobIsRead) {
  const AppSpec app = start({{"max_instances", "4"},
                             {"instances", "3"},
                             {"scale_metric", "pending"},
                             {"scale_target", "2.5"},
                             {"scale_up_step", "2"},
                             {"scale_down_step", "2"},
                             {"scale_up_cooldown", "1s"},
                             {"scale_down_delay", "2m"}});
  ASSERT_TRUE(app.autoscale);
  EXPECT_EQ(app.instances, 3);
  EXPECT_EQ(app.autoscale->metric, ScaleMetric::pending);
  EXPECT_EQ(app.autoscale->target, 2.5);
  EXPECT_EQ(app.autoscale->up_step, 2);
  EXPECT_EQ(app.autoscale->down_step, 2);
  EXPECT_EQ(app.autoscale->up_cooldown_ms, 1000);
  EXPECT_EQ(app.autoscale->down_delay_ms, 120000);
  // Through the spec's JSON (the RPC and dump.json) and back.
  EXPECT_EQ(json(app).get<AppSpec>().autoscale, app.autoscale);
}

TEST(AutoscaleOptions, MistakesAreOneLineNamingTheOption) {
  const auto error = [](const json& flags) { return error_of([&] { (void)start(flags); }); };
  EXPECT_EQ(error({{"min_instances", "2"}}), "'min_instances' needs 'max_instances' (autoscaling is off without it)");
  EXPECT_EQ(error({{"min_instances", "5"}, {"max_instances", "4"}}),
            "'min_instances' (5) is above 'max_instances' (4)");
  EXPECT_EQ(error({{"max_instances", "4"}, {"instances", "8"}}),
            "'instances' is 8, outside min_instances..max_instances (1..4)");
  EXPECT_EQ(error({{"max_instances", "4"}, {"scale_metric", "memory"}}),
            "'scale_metric' must be cpu, pending or loadavg, got \"memory\"");
  EXPECT_EQ(error({{"max_instances", "4"}, {"scale_target", "0"}}),
            "'scale_target' must be a number above 0 and at most 1000000, got \"0\"");
  EXPECT_EQ(error({{"max_instances", "4"}, {"scale_metric", "pending"}, {"exec_mode", "fork"}}),
            "'scale_metric' pending counts connections waiting on the daemon's listening sockets: it "
            "needs cluster mode (exec_mode cluster)");
}

TEST(AutoscaleOptions, AnEcosystemFileNamesTheLineOfAMistake) {
  const auto context = shell_in(corpus_dir());
  const std::string text =
      "{\"apps\": [{\n  \"name\": \"api\",\n  \"script\": \"apps/server.js\",\n  \"max_instances\": 4,\n"
      "  \"scale_up_cooldown\": \"soon\"\n}]}\n";
  const std::string error = error_of([&] {
    (void)config::load_ecosystem_document(config::parse_json_document(text, "eco.json", context.cwd), json::object(),
                                          context);
  });
  EXPECT_EQ(error.rfind("eco.json:5", 0), 0u) << error;
  EXPECT_NE(error.find("scale_up_cooldown"), std::string::npos) << error;
}

TEST(AutoscaleOptions, TheDaemonRefusesASpecItCannotScale) {
  AppSpec spec = start({{"max_instances", "4"}});
  spec.autoscale->min_instances = 5;
  EXPECT_EQ(validate_spec(spec),
            "app 'server': autoscaling needs 1 <= min_instances <= max_instances <= 4096, got 5..4");
  spec = start({{"max_instances", "4"}});
  spec.autoscale->target = -1;
  EXPECT_TRUE(validate_spec(spec));
  spec = start({{"max_instances", "4"}});
  spec.exec_mode = ExecMode::fork;
  spec.autoscale->metric = ScaleMetric::pending;
  EXPECT_TRUE(validate_spec(spec));
  EXPECT_THROW((void)json({{"metric", "memory"}}).get<Autoscale>(), std::exception);
  EXPECT_THROW((void)json({{"paused", "yes"}}).get<Autoscale>(), std::invalid_argument);
}

}  // namespace
}  // namespace drove::supervisor
