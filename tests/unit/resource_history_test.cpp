// ResourceHistory: a fixed ring, oldest first, memory kept in KiB.
#include "supervisor/resource_history.hpp"

#include <gtest/gtest.h>

namespace drove::supervisor {
namespace {

TEST(ResourceHistory, KeepsTheLastSamplesOldestFirst) {
  ResourceHistory h;
  h.push(1, 1024, 10);  // no capacity: nothing kept
  EXPECT_EQ(h.size(), 0u);
  h.set_capacity(3);
  for (int i = 1; i <= 5; ++i) h.push(i * 1.04, static_cast<std::uint64_t>(i) * 4096, i * 1000);
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.cpu(), (std::vector<double>{3.1, 4.2, 5.2}));
  EXPECT_EQ(h.memory(), (std::vector<std::uint64_t>{12288, 16384, 20480}));
  EXPECT_EQ(h.last_at_ms(), 5000);
  h.push(0, 1500, 6000);  // 1500 bytes: 1 KiB, rounded
  EXPECT_EQ(h.memory().back(), 1024u);
  h.set_capacity(4);  // a new size starts afresh
  EXPECT_EQ(h.size(), 0u);
  EXPECT_TRUE(h.cpu().empty());
}

}  // namespace
}  // namespace drove::supervisor
