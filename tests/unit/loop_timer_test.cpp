// LoopTimer: one-shot and repeating, stopped from its own callback, and contained exceptions.
#include "base/loop_timer.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace drove {
namespace {

TEST(LoopTimer, OneShotRepeatingAndStoppedFromItsOwnCallback) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  {
    LoopTimer once("once");
    LoopTimer every("every");
    int fired_once = 0;
    int fired_every = 0;
    once.start(&loop, 1, 0, [&] { ++fired_once; });
    every.start(&loop, 1, 1, [&] {
      if (++fired_every == 3) every.stop();
    });
    EXPECT_TRUE(once.active());
    uv_run(&loop, UV_RUN_DEFAULT);  // returns once nothing is left: both timers are done
    EXPECT_EQ(fired_once, 1);
    EXPECT_EQ(fired_every, 3);
    EXPECT_FALSE(once.active());
    EXPECT_FALSE(every.active());

    // An exception from the callback is contained, and the timer can be started again.
    const auto before = contained_exceptions().load();
    once.start(&loop, 0, 0, [] { throw std::runtime_error("boom"); });
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(contained_exceptions().load(), before + 1);
    once.start(&loop, 0, 0, [&] { ++fired_once; });
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(fired_once, 2);
  }
  uv_run(&loop, UV_RUN_NOWAIT);  // close callbacks
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace drove
