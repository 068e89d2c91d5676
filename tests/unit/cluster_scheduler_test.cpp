#include "cluster/scheduler.hpp"

#include <gtest/gtest.h>

#include "cluster/open_connections.hpp"

namespace drove::cluster {
namespace {

TEST(Scheduler, RoundRobinSpreadsEvenlyAndSkipsIneligible) {
  std::vector<Candidate> c(4, Candidate{true, 0});
  std::size_t cursor = 0;
  std::vector<int> counts(4);
  for (int i = 0; i < 1001; ++i) counts[*pick_round_robin(c, cursor)]++;
  for (int n : counts) EXPECT_NEAR(n, 250, 1);
  c[1].eligible = false;
  for (int i = 0; i < 30; ++i) EXPECT_NE(*pick_round_robin(c, cursor), 1u);
  for (auto& x : c) x.eligible = false;
  EXPECT_FALSE(pick_round_robin(c, cursor));
}

TEST(Scheduler, LeastConnectionsPicksTheIdlestAndRotatesTies) {
  std::vector<Candidate> c = {{true, 5}, {true, 2}, {true, 2}, {false, 0}};
  std::size_t cursor = 0;
  EXPECT_EQ(*pick_least_connections(c, cursor), 1u);
  EXPECT_EQ(*pick_least_connections(c, cursor), 2u);  // tie: the next one
  EXPECT_EQ(*pick_least_connections(c, cursor), 1u);
}

TEST(OpenConnections, CensusRemovesClosedButKeepsNewerHandOvers) {
  OpenConnections open;
  open.handed(10, 100);
  open.handed(11, 100);
  open.handed(12, 250);
  open.refresh({11}, 200);  // census started at 200: 12 is newer than it
  EXPECT_EQ(open.count(), 2u);
  open.refresh({}, 300);
  EXPECT_EQ(open.count(), 0u);
}

TEST(OpenConnections, EstimateExpiresAfterTtl) {
  OpenConnections open;
  open.handed(1, 0);
  open.handed(2, 900);
  open.expire(1000, 1000);
  EXPECT_EQ(open.count(), 1u);
}

}  // namespace
}  // namespace drove::cluster
