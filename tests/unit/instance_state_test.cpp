#include "supervisor/instance_state.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace drove::supervisor {
namespace {

using S = InstanceState;
using E = InstanceEvent;

const std::vector<S> kStates = {S::launching, S::online, S::stopping, S::stopped, S::waiting_restart, S::errored};
const std::vector<E> kEvents = {E::start,
                                E::ready,
                                E::replaced,
                                E::start_failed,
                                E::start_deferred,
                                E::exit_restart_later,
                                E::exit_stopped,
                                E::exit_errored,
                                E::stop,
                                E::cancel_start,
                                E::gone};

// Every legal transition, written out: anything not listed must be refused.
const std::map<std::pair<S, E>, S> kLegal = {
    {{S::stopped, E::start}, S::launching},
    {{S::errored, E::start}, S::launching},
    {{S::waiting_restart, E::start}, S::launching},
    {{S::launching, E::start}, S::launching},  // a queued start reaching its turn
    {{S::online, E::start}, S::launching},     // restarted at once after a crash
    {{S::launching, E::ready}, S::online},
    {{S::launching, E::replaced}, S::online},
    {{S::online, E::replaced}, S::online},
    {{S::launching, E::start_failed}, S::errored},
    {{S::launching, E::start_deferred}, S::waiting_restart},
    {{S::launching, E::exit_restart_later}, S::waiting_restart},
    {{S::online, E::exit_restart_later}, S::waiting_restart},
    {{S::launching, E::exit_stopped}, S::stopped},
    {{S::online, E::exit_stopped}, S::stopped},
    {{S::launching, E::exit_errored}, S::errored},
    {{S::online, E::exit_errored}, S::errored},
    {{S::launching, E::stop}, S::stopping},
    {{S::online, E::stop}, S::stopping},
    {{S::waiting_restart, E::stop}, S::stopped},
    {{S::launching, E::cancel_start}, S::stopped},
    {{S::stopping, E::gone}, S::stopped},
    {{S::stopped, E::gone}, S::stopped},
    {{S::errored, E::gone}, S::stopped},
};

TEST(InstanceState, EveryStateAndEventFollowsTheTable) {
  for (S from : kStates) {
    for (E event : kEvents) {
      auto it = kLegal.find({from, event});
      const std::optional<S> expected = it == kLegal.end() ? std::nullopt : std::optional<S>(it->second);
      EXPECT_EQ(next_state(from, event), expected) << to_string(event) << " while " << to_string(from);
    }
  }
}

TEST(InstanceState, StoppingIsLeftOnlyWhenEveryProcessIsGone) {
  for (E event : kEvents) {
    const auto next = next_state(S::stopping, event);
    if (event == E::gone) {
      EXPECT_EQ(next, S::stopped);
    } else {
      EXPECT_FALSE(next.has_value()) << to_string(event);
    }
  }
}

TEST(InstanceState, EveryStateIsReachableFromStoppedAndCanGetBackToStopped) {
  auto reachable_from = [](S start) {
    std::set<S> seen{start};
    std::vector<S> todo{start};
    while (!todo.empty()) {
      const S s = todo.back();
      todo.pop_back();
      for (E event : kEvents) {
        if (auto next = next_state(s, event); next && seen.insert(*next).second) todo.push_back(*next);
      }
    }
    return seen;
  };
  EXPECT_EQ(reachable_from(S::stopped).size(), kStates.size());
  for (S s : kStates) EXPECT_TRUE(reachable_from(s).contains(S::stopped)) << to_string(s);
}

TEST(InstanceState, NamesArePm2Words) {
  EXPECT_STREQ(to_string(S::waiting_restart), "waiting restart");
  EXPECT_STREQ(to_string(S::online), "online");
  std::set<std::string> names;
  for (E event : kEvents) names.insert(to_string(event));
  EXPECT_EQ(names.size(), kEvents.size());
}

}  // namespace
}  // namespace drove::supervisor
