#include "supervisor/rolling_reload.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace drove::supervisor {
namespace {

using Turn = RollingReload::Turn;

// A fake supervisor: records what the reload asked of it.
struct FakeHost {
  std::map<int, Turn> turns;  // default: replace
  std::set<int> refuse_launch;
  std::vector<int> launched, started, abandoned;
  std::optional<RollingReload::Outcome> outcome;
  int done_calls = 0;

  RollingReload make(std::vector<int> ids, int batch) {
    return RollingReload(std::move(ids), batch,
                         {.turn_of = [this](int id) { return turns.contains(id) ? turns[id] : Turn::replace; },
                          .launch_replacement =
                              [this](int id, std::string& why) {
                                if (refuse_launch.contains(id)) {
                                  why = "no such file";
                                  return false;
                                }
                                launched.push_back(id);
                                return true;
                              },
                          .start = [this](int id) { started.push_back(id); },
                          .abandon_replacement = [this](int id) { abandoned.push_back(id); }},
                         [this](const RollingReload::Outcome& o) {
                           outcome = o;
                           ++done_calls;
                         });
  }
};

TEST(RollingReload, ReplacesOneBatchAtATimeAndFinishesWhenTheLastIsReady) {
  FakeHost host;
  auto reload = host.make({1, 2, 3, 4, 5}, 2);
  reload.begin();
  EXPECT_EQ(host.launched, (std::vector<int>{1, 2}));
  EXPECT_TRUE(reload.active());
  reload.ready(1);
  EXPECT_EQ(host.launched.size(), 2u) << "the next batch waits for the whole current one";
  reload.ready(2);
  EXPECT_EQ(host.launched, (std::vector<int>{1, 2, 3, 4}));
  reload.ready(4);
  reload.ready(3);
  EXPECT_EQ(host.launched, (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_FALSE(host.outcome.has_value());
  reload.ready(5);
  ASSERT_TRUE(host.outcome.has_value());
  EXPECT_TRUE(host.outcome->ok);
  EXPECT_FALSE(reload.active());
  EXPECT_EQ(host.done_calls, 1);
}

TEST(RollingReload, SlotsThatDoNotRunAreStartedOrSkippedWithoutHoldingTheBatch) {
  FakeHost host;
  host.turns = {{1, Turn::start}, {2, Turn::skip}};
  auto reload = host.make({1, 2, 3}, 1);
  reload.begin();
  EXPECT_EQ(host.started, (std::vector<int>{1}));
  EXPECT_EQ(host.launched, (std::vector<int>{3}));
  reload.ready(3);
  ASSERT_TRUE(host.outcome.has_value());
  EXPECT_TRUE(host.outcome->ok);
}

TEST(RollingReload, NothingToReplaceFinishesAtOnce) {
  FakeHost host;
  host.turns = {{1, Turn::skip}};
  auto reload = host.make({1}, 1);
  reload.begin();
  ASSERT_TRUE(host.outcome.has_value());
  EXPECT_TRUE(host.outcome->ok);
  EXPECT_FALSE(reload.active());
}

TEST(RollingReload, AFailedReplacementAbandonsItsBatchAndStopsTheReload) {
  FakeHost host;
  auto reload = host.make({1, 2, 3, 4}, 2);
  reload.begin();
  reload.ready(1);
  reload.failed(2, "not ready within listen_timeout");
  ASSERT_TRUE(host.outcome.has_value());
  EXPECT_FALSE(host.outcome->ok);
  EXPECT_EQ(host.outcome->failed_id, 2);
  EXPECT_EQ(host.outcome->why, "not ready within listen_timeout");
  EXPECT_EQ(host.abandoned, (std::vector<int>{2}));
  EXPECT_EQ(host.launched, (std::vector<int>{1, 2})) << "slots 3 and 4 keep their processes";
  EXPECT_FALSE(reload.active());
  reload.ready(2);  // late news of an aborted reload changes nothing
  EXPECT_EQ(host.done_calls, 1);
}

TEST(RollingReload, AReplacementThatCannotStartAbortsWithItsReason) {
  FakeHost host;
  host.refuse_launch = {2};
  auto reload = host.make({1, 2, 3}, 2);
  reload.begin();
  ASSERT_TRUE(host.outcome.has_value());
  EXPECT_FALSE(host.outcome->ok);
  EXPECT_EQ(host.outcome->failed_id, 2);
  EXPECT_EQ(host.outcome->why, "no such file");
  EXPECT_EQ(host.abandoned, (std::vector<int>{1, 2}));
}

TEST(RollingReload, AStoppedSlotInFlightNoLongerHoldsTheReload) {
  FakeHost host;
  auto reload = host.make({1, 2, 3}, 1);
  reload.begin();
  EXPECT_TRUE(reload.in_flight(1));
  reload.forget({1});  // stopped (or deleted) while its replacement was starting
  EXPECT_EQ(host.launched, (std::vector<int>{1, 2}));
  reload.forget({3});  // still queued: dropped
  reload.ready(2);
  ASSERT_TRUE(host.outcome.has_value());
  EXPECT_TRUE(host.outcome->ok);
  EXPECT_EQ(host.launched, (std::vector<int>{1, 2}));
}

TEST(RollingReload, SlotsStoppedTogetherLaunchNoReplacementForEachOther) {
  FakeHost host;
  auto reload = host.make({1, 2, 3}, 1);
  reload.begin();
  reload.forget({1, 2, 3});  // `stop all` during the reload
  EXPECT_EQ(host.launched, (std::vector<int>{1}));
  ASSERT_TRUE(host.outcome.has_value());
  EXPECT_TRUE(host.outcome->ok);
}

TEST(RollingReload, DoneMayBeginAnotherReloadOfTheSameApp) {
  FakeHost host;
  std::optional<RollingReload> second;
  FakeHost second_host;
  auto first = RollingReload({1}, 1,
                             {.turn_of = [](int) { return Turn::replace; },
                              .launch_replacement = [](int, std::string&) { return true; },
                              .start = [](int) {},
                              .abandon_replacement = [](int) {}},
                             [&](const RollingReload::Outcome&) {
                               second.emplace(second_host.make({1}, 1));
                               second->begin();
                             });
  first.begin();
  first.ready(1);
  ASSERT_TRUE(second.has_value());
  EXPECT_TRUE(second->active());
  EXPECT_FALSE(first.active());
}

}  // namespace
}  // namespace drove::supervisor
