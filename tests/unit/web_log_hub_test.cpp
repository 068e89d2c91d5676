// The dashboard's live log streams (drove-web's LogHub): the daemon is subscribed while a
// stream is open and unsubscribed when the last one closes; streams are bounded in number; a
// slow stream loses its oldest lines and is told how many, without ever blocking the publisher.
#include "web/log_hub.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace drove::web {
namespace {

using namespace std::chrono_literals;

struct Subscriptions {
  std::vector<bool> calls;
  bool agree = true;
  LogHub::Subscription callback() {
    return [this](bool on, std::string& why) {
      calls.push_back(on);
      if (!agree) why = "refused";
      return agree;
    };
  }
};

TEST(DashboardLogHub, SubscribesWhileAStreamIsOpenAndUnsubscribesAfterTheLast) {
  Subscriptions daemon;
  LogHub hub(2, 1 << 20, daemon.callback());
  std::string why;
  auto first = hub.open("", why);
  ASSERT_TRUE(first) << why;
  auto second = hub.open("api", why);
  ASSERT_TRUE(second) << why;
  EXPECT_EQ(daemon.calls, std::vector<bool>{true});  // once, for the first stream
  EXPECT_FALSE(hub.open("", why));                   // at most 2
  EXPECT_NE(why.find("at most 2"), std::string::npos) << why;

  hub.close(first);
  EXPECT_EQ(daemon.calls, std::vector<bool>{true});
  hub.close(second);
  EXPECT_EQ(daemon.calls, (std::vector<bool>{true, false}));
  EXPECT_EQ(hub.open_streams(), 0u);

  auto again = hub.open("", why);  // subscribes anew
  ASSERT_TRUE(again);
  EXPECT_EQ(daemon.calls, (std::vector<bool>{true, false, true}));
  hub.close(again);
}

TEST(DashboardLogHub, ARefusedSubscriptionOpensNoStream) {
  Subscriptions daemon;
  daemon.agree = false;
  LogHub hub(2, 1 << 20, daemon.callback());
  std::string why;
  EXPECT_FALSE(hub.open("", why));
  EXPECT_EQ(why, "refused");
  EXPECT_EQ(hub.open_streams(), 0u);
}

TEST(DashboardLogHub, LinesGoToTheStreamsOfTheirAppAsServerSentEvents) {
  Subscriptions daemon;
  LogHub hub(4, 1 << 20, daemon.callback());
  std::string why;
  auto all = hub.open("", why);
  auto api = hub.open("api", why);
  ASSERT_TRUE(all && api);
  hub.publish("api", R"({"event":"log","name":"api","text":"one"})");
  hub.publish("worker", R"({"event":"log","name":"worker","text":"two"})");
  bool ended = true;
  EXPECT_EQ(hub.next(*api, 0ms, ended), "event: log\ndata: {\"event\":\"log\",\"name\":\"api\",\"text\":\"one\"}\n\n");
  EXPECT_FALSE(ended);
  const std::string both = hub.next(*all, 0ms, ended);
  EXPECT_NE(both.find("\"one\""), std::string::npos);
  EXPECT_NE(both.find("\"two\""), std::string::npos);
  EXPECT_EQ(hub.next(*api, 10ms, ended), "");  // nothing more: "" after the wait

  hub.end();                                  // the daemon went away
  EXPECT_EQ(hub.next(*api, 10s, ended), "");  // at once, not after 10 s
  EXPECT_TRUE(ended);
  EXPECT_FALSE(hub.open("", why));
  hub.close(all);
  hub.close(api);
  EXPECT_EQ(daemon.calls, std::vector<bool>{true});  // no unsubscription to a daemon that is gone
}

TEST(DashboardLogHub, ASlowStreamLosesItsOldestLinesAndIsToldHowMany) {
  Subscriptions daemon;
  const std::string line = R"({"event":"log","name":"api","text":"x"})";
  const std::size_t event_bytes = std::string("event: log\ndata: ").size() + line.size() + 2;
  LogHub hub(1, event_bytes * 3, daemon.callback());  // room for three lines
  std::string why;
  auto stream = hub.open("", why);
  ASSERT_TRUE(stream);
  for (int i = 0; i < 10; ++i) hub.publish("api", line);  // never blocks
  bool ended = false;
  const std::string text = hub.next(*stream, 0ms, ended);
  EXPECT_EQ(text.rfind("event: dropped\ndata: {\"lines\":7}\n\n", 0), 0u) << text;
  std::size_t lines = 0;
  for (auto at = text.find("event: log"); at != std::string::npos; at = text.find("event: log", at + 1)) ++lines;
  EXPECT_EQ(lines, 3u);
  hub.close(stream);
}

}  // namespace
}  // namespace drove::web
