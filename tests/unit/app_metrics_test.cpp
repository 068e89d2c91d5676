// @pm2/io's reports over the IPC channel: merged as PM2 merges them, bounded, refused with a
// reason when they are not of its shape.
#include "supervisor/app_metrics.hpp"

#include <gtest/gtest.h>

namespace drove::supervisor {
namespace {

using nlohmann::json;

TEST(AppMetrics, MonitorMessagesMergeAsPm2MergesThem) {
  EXPECT_TRUE(is_axm_message({{"type", "axm:monitor"}, {"data", json::object()}}));
  EXPECT_FALSE(is_axm_message({{"type", "process:msg"}}));
  EXPECT_FALSE(is_axm_message("axm:monitor"));
  json metrics = json::object();
  EXPECT_FALSE(merge_axm_monitor(
      metrics, {{"queue depth", {{"value", 42}, {"unit", "jobs"}, {"type", "metric"}, {"historic", true}}},
                {"Heap Size", {{"value", "9.23"}, {"unit", "MiB"}}}}));
  EXPECT_FALSE(
      merge_axm_monitor(metrics, {{"queue depth", {{"value", 7}, {"unit", "jobs"}}}, {"up", {{"value", true}}}}));
  EXPECT_EQ(metrics["queue depth"], json({{"value", 7}, {"unit", "jobs"}}));  // the latest wins
  EXPECT_EQ(metrics["Heap Size"]["value"], "9.23");                           // the others stay
  EXPECT_EQ(metrics["up"]["value"], true);
  // pmx's bare values.
  EXPECT_FALSE(merge_axm_monitor(metrics, {{"legacy", 3}}));
  EXPECT_EQ(metrics["legacy"], json({{"value", 3}}));
}

TEST(AppMetrics, AnAppCannotGrowTheDaemonWithoutBound) {
  json metrics = json::object();
  json many = json::object();
  for (std::size_t i = 0; i <= kMaxAppMetrics; ++i) many["m" + std::to_string(i)] = 1;
  EXPECT_EQ(merge_axm_monitor(metrics, many), "axm:monitor: more than 64 metrics");
  EXPECT_TRUE(metrics.empty());  // a refused message merges nothing
  EXPECT_TRUE(merge_axm_monitor(metrics, {{std::string(200, 'n'), 1}}));
  EXPECT_TRUE(merge_axm_monitor(metrics, {{"big", std::string(1000, 'x')}}));
  EXPECT_TRUE(merge_axm_monitor(metrics, {{"deep", {{"value", {{"a", 1}}}}}}));
  EXPECT_TRUE(merge_axm_monitor(metrics, {{"unit", {{"value", 1}, {"unit", std::string(300, 'u')}}}}));
  EXPECT_EQ(merge_axm_monitor(metrics, json::array()), "axm:monitor: 'data' is not an object");
  EXPECT_TRUE(metrics.empty());
}

TEST(AppMetrics, ActionsAreDeclaredOnceByName) {
  json actions = json::array();
  EXPECT_FALSE(add_axm_action(actions, {{"action_name", "ping"}, {"action_type", "custom"}, {"arity", 1}}));
  EXPECT_FALSE(add_axm_action(actions, {{"action_name", "ping"}, {"action_type", "custom"}, {"arity", 2}}));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0]["arity"], 2);
  EXPECT_TRUE(add_axm_action(actions, {{"action_type", "custom"}}));
  for (std::size_t i = 1; i < kMaxAppActions; ++i)
    EXPECT_FALSE(add_axm_action(actions, {{"action_name", std::to_string(i)}}));
  EXPECT_EQ(add_axm_action(actions, {{"action_name", "one too many"}}), "axm:action: more than 32 actions");
}

}  // namespace
}  // namespace drove::supervisor
