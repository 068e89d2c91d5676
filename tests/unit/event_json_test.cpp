// The supervisor's typed events, as the control socket's `events` topic carries them: the JSON
// shape clients (drove's own `logs`/dashboard, scripts) read is the same as before events were
// typed, field for field.
#include <gtest/gtest.h>

#include <csignal>

#include "daemon/event_json.hpp"

namespace drove {
namespace {

using nlohmann::json;
using supervisor::Event;
namespace ev = supervisor::events;

Event of(supervisor::EventData data) { return Event{7, "api", 4242, 1700000000000, std::move(data)}; }

TEST(EventJson, EachKindKeepsItsWireShape) {
  const json common = {{"id", 7}, {"name", "api"}, {"at", 1700000000000}};
  auto expect = [&common](const Event& event, const json& fields) {
    json want = common;
    want["pid"] = 4242;
    want.update(fields);
    EXPECT_EQ(daemon::event_json(event), want) << want.dump();
  };
  expect(of(ev::Spawn{4343, true}), {{"event", "spawn"}, {"pid", 4343}, {"incoming", true}});
  expect(of(ev::Exit{4141, 0, SIGKILL, 1500}),
         {{"event", "exit"}, {"pid", 4141}, {"code", 0}, {"signal", "SIGKILL"}, {"uptime_ms", 1500}});
  expect(of(ev::Exit{4141, 3, 0, 10}),
         {{"event", "exit"}, {"pid", 4141}, {"code", 3}, {"signal", ""}, {"uptime_ms", 10}});
  expect(of(ev::StateChanged{supervisor::InstanceState::waiting_restart}),
         {{"event", "state"}, {"status", "waiting restart"}});
  expect(of(ev::Listening{std::nullopt, 3000}), {{"event", "listening"}, {"address", nullptr}, {"port", 3000}});
  expect(of(ev::Listening{"127.0.0.1", 3000}), {{"event", "listening"}, {"address", "127.0.0.1"}, {"port", 3000}});
  expect(of(ev::BindError{"127.0.0.1:80:4:tcp", -13}),
         {{"event", "bind_error"}, {"key", "127.0.0.1:80:4:tcp"}, {"errno", -13}});
  expect(of(ev::Message{json{{"topic", "x"}}}), {{"event", "message"}, {"data", {{"topic", "x"}}}});
  expect(of(ev::Restart{"watch: app.js changed"}), {{"event", "restart"}, {"reason", "watch: app.js changed"}});
  expect(of(ev::Deleted{}), {{"event", "delete"}});
  expect(of(ev::StartFailed{"no such file"}), {{"event", "start_failed"}, {"error", "no such file"}});
  expect(of(ev::ReloadFailed{"not ready"}), {{"event", "reload_failed"}, {"error", "not ready"}});
}

TEST(EventJson, EveryKindHasAName) {
  // A kind added to EventData without a name would reach clients as an event without "event".
  for (std::size_t i = 0; i < std::variant_size_v<supervisor::EventData>; ++i) {
    supervisor::EventData data;
    [&]<std::size_t... I>(std::index_sequence<I...>) { ((i == I ? (data.emplace<I>(), 0) : 0), ...); }
    (std::make_index_sequence<std::variant_size_v<supervisor::EventData>>{});
    const json out = daemon::event_json(of(std::move(data)));
    EXPECT_TRUE(out.contains("event") && out["event"].is_string() && !out["event"].get<std::string>().empty()) << i;
  }
}

}  // namespace
}  // namespace drove
