// Input bounds (issue #12): the JSON depth pre-scan, bounded parsing, ecosystem files that used
// to crash the CLI (a self-referencing YAML alias, a 100,000-digit scalar, JSON nested 100,000
// deep), and the typed parse of worker cluster messages (a wrong type is a protocol error).
#include <gtest/gtest.h>

#include <string>

#include "base/json_limits.hpp"
#include "config/app_spec.hpp"
#include "config_test_support.hpp"
#include "ipc/cluster_messages.hpp"

namespace drove {
namespace {

using nlohmann::json;

std::string nested(char open, char close, std::size_t depth) {
  return std::string(depth, open) + std::string(depth, close);
}

TEST(JsonLimits, DepthCountsBracketsOutsideStringsAndComments) {
  EXPECT_EQ(json_nesting_depth(R"({"a":[1,{"b":2}]})"), 3u);
  EXPECT_EQ(json_nesting_depth(R"({"a":"[[[[[[\"[[[["})"), 1u);
  EXPECT_EQ(json_nesting_depth("// [[[[[\n{\"a\": /* {{{{ */ 1}"), 1u);
  EXPECT_EQ(json_nesting_depth("42"), 0u);
}

TEST(JsonLimits, ScanStopsJustPastTheLimit) {
  const std::string deep = nested('[', ']', 100'000);
  EXPECT_EQ(json_nesting_depth(deep, 64), 65u);
  EXPECT_EQ(json_too_deep_at(deep, 64), std::optional<std::size_t>(64));
  EXPECT_FALSE(json_too_deep_at(nested('[', ']', 64), 64));
}

TEST(JsonLimits, BoundedParseRefusesBombsAndAcceptsTheLimit) {
  std::string why;
  EXPECT_FALSE(parse_json_bounded(R"({"id":)" + nested('[', ']', 66'000) + "}", why));
  EXPECT_EQ(why, "nesting deeper than 64");
  EXPECT_FALSE(parse_json_bounded("{nope", why));
  EXPECT_EQ(why, "not JSON");
  auto ok = parse_json_bounded(nested('{', '}', 1) + "", why);
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->is_object());
  EXPECT_TRUE(parse_json_bounded(nested('[', ']', 64), why));
}

std::string config_error(const std::string& name, const std::string& text) {
  config::testing::TempDir dir;
  dir.write("app.js", "setInterval(() => {}, 1000);\n");
  dir.write(name, text);
  return config::testing::error_of(
      [&] { (void)config::load_ecosystem(name, json::object(), config::testing::shell_in(dir.path())); });
}

TEST(ConfigLimits, SelfReferencingYamlAliasIsAnErrorNotACrash) {
  const auto error = config_error("alias.yml", "x: &a\n  y: *a\napps: []\n");
  EXPECT_NE(error.find("alias.yml:"), std::string::npos) << error;
  EXPECT_NE(error.find("nested deeper than 64"), std::string::npos) << error;
}

TEST(ConfigLimits, YamlAliasBombIsBounded) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += std::string(k ? ", " : "") + "*a" + std::to_string(i - 1);
    text += "]\n";
  }
  text += "apps: []\n";
  const auto error = config_error("bomb.yml", text);
  EXPECT_NE(error.find("values once aliases are expanded"), std::string::npos) << error;
}

TEST(ConfigLimits, HugeYamlScalarIsKeptAsText) {
  // Used to overflow the stack in std::regex; now it is just a string the validator rejects.
  const auto error = config_error(
      "digits.yml", "apps:\n  - name: web\n    script: app.js\n    instances: " + std::string(100'000, '7') + "\n");
  EXPECT_NE(error.find("digits.yml:4"), std::string::npos) << error.substr(0, 200);
}

TEST(ConfigLimits, DeepJsonNamesFileAndLine) {
  const auto error = config_error("deep.json", "{\n\"apps\": " + nested('[', ']', 100'000) + "}");
  EXPECT_EQ(error, "deep.json:2:72: nested deeper than 64 levels");
}

TEST(WorkerMessages, ListeningWithAStringPortIsAProtocolError) {
  auto parsed = ipc::parse_worker_message(json{{"cmd", "NODE_CLUSTER"}, {"act", "listening"}, {"port", "x"}});
  ASSERT_TRUE(parsed);
  const auto* error = std::get_if<ipc::ProtocolError>(&*parsed);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->reason, "malformed listening: \"port\" must be an integer");
  EXPECT_FALSE(error->query_seq);
}

TEST(WorkerMessages, MalformedQueryServerIsAnsweredWithItsSeq) {
  auto parsed = ipc::parse_worker_message(
      json{{"cmd", "NODE_CLUSTER"}, {"act", "queryServer"}, {"port", "x"}, {"address", nullptr}, {"seq", 5}});
  ASSERT_TRUE(parsed);
  const auto* error = std::get_if<ipc::ProtocolError>(&*parsed);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->query_seq, std::optional<std::int64_t>(5));
  const json reply = ipc::query_error_reply(error->key, 5, -22, 9);
  EXPECT_EQ(reply["ack"], 5);
  EXPECT_EQ(reply["errno"], -22);
}

// Node says port -1 for a server on a unix path (found when the typed parser first refused it).
TEST(WorkerMessages, ListeningOnAUnixPathWithPortMinusOneIsTyped) {
  auto parsed = ipc::parse_worker_message(json::parse(
      R"({"cmd":"NODE_CLUSTER","act":"listening","index":0,"data":null,"address":"/tmp/x.sock","port":-1,"addressType":-1,"seq":2})"));
  ASSERT_TRUE(parsed);
  const auto* l = std::get_if<ipc::WorkerListening>(&std::get<ipc::WorkerMessage>(*parsed));
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->port, -1);
  EXPECT_EQ(l->address_type, -1);
}

TEST(WorkerMessages, WellFormedMessagesAreTyped) {
  auto listening = ipc::parse_worker_message(json::parse(
      R"({"cmd":"NODE_CLUSTER","act":"listening","index":0,"data":null,"address":"127.0.0.1","port":3456,"addressType":4,"seq":2})"));
  ASSERT_TRUE(listening);
  const auto* l = std::get_if<ipc::WorkerListening>(&std::get<ipc::WorkerMessage>(*listening));
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->port, 3456);
  EXPECT_EQ(l->address, std::optional<std::string>("127.0.0.1"));
  EXPECT_EQ(l->key, "127.0.0.1:3456:4:undefined:0");
  EXPECT_EQ(l->requested_key, "127.0.0.1:0:4:undefined:0");

  auto close = ipc::parse_worker_message(json{{"cmd", "NODE_CLUSTER"}, {"act", "close"}, {"key", 7}});
  ASSERT_TRUE(close);
  EXPECT_TRUE(std::holds_alternative<ipc::ProtocolError>(*close));

  EXPECT_FALSE(ipc::parse_worker_message(json{{"cmd", "app"}}));
  auto unknown = ipc::parse_worker_message(json{{"cmd", "NODE_CLUSTER"}, {"act", "somethingNew"}});
  ASSERT_TRUE(unknown);
  EXPECT_TRUE(std::holds_alternative<ipc::WorkerIgnored>(std::get<ipc::WorkerMessage>(*unknown)));
}

// Found by the ipc_channel fuzzer (CI, and tests/fuzz/corpus/ipc_channel/huge-port-float): a
// port of 5.4e40 was cast to int64, which is undefined behaviour. Now it is not an integer.
TEST(WorkerMessages, NumbersBeyondJsSafeIntegersAreNotIntegers) {
  const auto msg = json::parse(
      R"({"cmd":"NODE_CLUSTER","act":"queryServer","index":0,"data":null,"address":"::",)"
      R"("port":53888888888888888888888888888888888888853,"addressType":"udp6","fd":-1,"flags":4,"seq":6})");
  auto parsed = ipc::parse_worker_message(msg);
  ASSERT_TRUE(parsed);
  const auto* error = std::get_if<ipc::ProtocolError>(&*parsed);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->query_seq, std::optional<std::int64_t>(6));
  EXPECT_FALSE(ipc::seq_of(json{{"seq", 1e300}}));
  EXPECT_FALSE(ipc::seq_of(json{{"seq", 9007199254740992.0}}));
  EXPECT_FALSE(ipc::seq_of(json{{"seq", std::uint64_t{18446744073709551615u}}}));
  EXPECT_EQ(ipc::seq_of(json{{"seq", 9007199254740991.0}}), std::optional<std::int64_t>(9007199254740991));
  EXPECT_EQ(ipc::seq_of(json{{"seq", -3}}), std::optional<std::int64_t>(-3));
  EXPECT_EQ(ipc::seq_of(json{{"seq", 1e3}}), std::optional<std::int64_t>(1000));
}

TEST(JsonLimits, IntegersAreRangeCheckedNotCast) {
  EXPECT_EQ(json_integer<int>(json(5), "n"), 5);
  EXPECT_EQ(json_integer<int>(json(5e3), "n"), 5000);
  EXPECT_EQ(json_integer<int>(json(-2147483648.0), "n"), -2147483647 - 1);
  EXPECT_EQ(json_integer<std::uint64_t>(json(std::uint64_t{18446744073709551615u}), "n"), 18446744073709551615u);
  EXPECT_THROW(json_integer<int>(json(1e40), "n"), json::out_of_range);
  EXPECT_THROW(json_integer<int>(json(2147483648.0), "n"), json::out_of_range);
  EXPECT_THROW(json_integer<int>(json(std::uint64_t{1} << 40), "n"), json::out_of_range);
  EXPECT_THROW(json_integer<unsigned>(json(-1), "n"), json::out_of_range);
  EXPECT_THROW(json_integer<int>(json(1.5), "n"), json::out_of_range);
  EXPECT_THROW(json_integer<int>(json("5"), "n"), json::type_error);
  EXPECT_THROW(json_integer<std::int64_t>(json(9.3e18), "n"), json::out_of_range);
}

// The same cast reached the daemon through a spec on the control socket ("instances": 1e40).
TEST(ConfigLimits, SpecIntegersOutOfRangeAreRefusedNotCast) {
  const json many = {{"name", "a"}, {"instances", 1e40}};
  const json long_wait = {{"name", "a"}, {"kill_timeout_ms", 1e300}};
  EXPECT_THROW((void)many.get<AppSpec>(), json::out_of_range);
  EXPECT_THROW((void)long_wait.get<AppSpec>(), json::out_of_range);
  EXPECT_EQ(json({{"name", "a"}, {"instances", 4.0}}).get<AppSpec>().instances, 4);
}

}  // namespace
}  // namespace drove
