// drove monit's model: histories and log lines follow instances by id, the selection follows
// its instance, keys map to the daemon's methods, sparklines scale and keep the newest right.
#include <gtest/gtest.h>

#include "cli/monit_model.hpp"

namespace drove::cli {
namespace {

nlohmann::json row(int id, const std::string& name, double cpu, std::uint64_t memory) {
  return {{"id", id}, {"name", name}, {"pid", 100 + id}, {"status", "online"}, {"cpu", cpu}, {"memory", memory}};
}

TEST(CliMonit, HistoriesLogsAndSelectionFollowInstances) {
  MonitModel model;
  model.update(nlohmann::json::array({row(1, "api", 10, 1000), row(0, "api", 5, 500)}));
  ASSERT_EQ(model.instances().size(), 2u);
  EXPECT_EQ(model.instances()[0].id, 0);  // sorted by id
  model.move_selection(1);
  EXPECT_EQ(model.selected()->id, 1);
  model.add_log({{"event", "log"}, {"id", 1}, {"stream", "err"}, {"text", "boom"}});
  model.add_log({{"event", "log"}, {"id", 1}, {"stream", "out"}, {"text", "ok"}});
  model.add_log({{"event", "exit"}, {"id", 1}});  // not a log line
  ASSERT_NE(model.logs_of_selected(), nullptr);
  EXPECT_EQ(*model.logs_of_selected(), (std::deque<std::string>{"[err] boom", "ok"}));

  // Instance 0 goes away, 2 comes: the selection stays on 1, whose history grows.
  model.update(nlohmann::json::array({row(1, "api", 20, 2000), row(2, "web", 0, 0)}));
  EXPECT_EQ(model.selected()->id, 1);
  EXPECT_EQ(model.selected()->cpu_history, (std::deque<double>{10, 20}));
  EXPECT_EQ(model.selected()->mem_history, (std::deque<std::uint64_t>{1000, 2000}));
  for (int n = 0; n < 300; ++n) model.update(nlohmann::json::array({row(1, "api", n, 0)}));
  EXPECT_EQ(model.selected()->cpu_history.size(), MonitModel::kHistory);
  EXPECT_EQ(model.selected()->cpu_history.back(), 299);
  for (int n = 0; n < 1000; ++n) model.add_log({{"event", "log"}, {"id", 1}, {"text", std::to_string(n)}});
  EXPECT_EQ(model.logs_of_selected()->size(), MonitModel::kLogLines);
  EXPECT_EQ(model.logs_of_selected()->back(), "999");

  model.update(nlohmann::json::array());
  EXPECT_EQ(model.selected(), nullptr);
  EXPECT_FALSE(model.action_for_key('r'));
}

TEST(CliMonit, KeysMapToTheDaemonsMethods) {
  MonitModel model;
  model.update(nlohmann::json::array({row(3, "api", 0, 0)}));
  EXPECT_EQ(model.action_for_key('r')->method, "restart");
  EXPECT_EQ(model.action_for_key('r')->params, (nlohmann::json{{"targets", {"3"}}}));
  EXPECT_EQ(model.action_for_key('l')->params["targets"], nlohmann::json({"api"}));
  EXPECT_EQ(model.action_for_key('s')->method, "stop");
  EXPECT_EQ(model.action_for_key('S')->method, "start_existing");
  EXPECT_EQ(model.action_for_key('+')->params, (nlohmann::json{{"name", "api"}, {"count", "+1"}}));
  EXPECT_EQ(model.action_for_key('-')->params["count"], "-1");
  EXPECT_FALSE(model.action_for_key('x'));
}

TEST(CliMonit, SparklineScalesPadsAndKeepsTheNewestOnTheRight) {
  EXPECT_EQ(sparkline({0, 50, 100}, 5, 100, true), "   =#");
  EXPECT_EQ(sparkline({0, 50, 100}, 2, 100, true), "=#");  // the oldest drop off
  EXPECT_EQ(sparkline({1, 2}, 2, 0, true), "=#");          // max 0: scaled to the largest
  EXPECT_EQ(sparkline({200}, 1, 100, true), "#");          // clamped
  EXPECT_EQ(sparkline({0, 100}, 2, 100, false), "▁█");
  EXPECT_EQ(sparkline({}, 3, 100, true), "   ");
}

}  // namespace
}  // namespace drove::cli
