// The web dashboard's request checks (drove-web; docs/security.md, "The web dashboard"): the
// Host and Origin a request may carry, the token comparison, and which actions a body may ask
// for. Named Dashboard* so `ctest -R Dashboard` runs them with the browser test.
#include "web/request_guard.hpp"

#include <gtest/gtest.h>

#include <string>

namespace drove::web {
namespace {

const std::string kToken(64, 'a');

TEST(DashboardGuard, HostMustNameTheEndpointByAddress) {
  EXPECT_TRUE(host_is_acceptable("127.0.0.1:9615", 9615));
  EXPECT_TRUE(host_is_acceptable("127.0.0.1", 9615));  // no port: the address is what matters
  EXPECT_TRUE(host_is_acceptable("localhost:9615", 9615));
  EXPECT_TRUE(host_is_acceptable("LocalHost:9615", 9615));
  EXPECT_TRUE(host_is_acceptable("[::1]:9615", 9615));
  EXPECT_TRUE(host_is_acceptable("[::1]", 9615));
  EXPECT_TRUE(host_is_acceptable("192.168.1.20:9615", 9615));  // --allow-remote, reached by address

  // DNS rebinding: a name that resolves to 127.0.0.1 arrives with that name.
  EXPECT_FALSE(host_is_acceptable("evil.example:9615", 9615));
  EXPECT_FALSE(host_is_acceptable("evil.example", 9615));
  EXPECT_FALSE(host_is_acceptable("127.0.0.1.evil.example:9615", 9615));
  EXPECT_FALSE(host_is_acceptable("localhost.evil.example:9615", 9615));
  // Another port, or a malformed one.
  EXPECT_FALSE(host_is_acceptable("127.0.0.1:9616", 9615));
  EXPECT_FALSE(host_is_acceptable("127.0.0.1:", 9615));
  EXPECT_FALSE(host_is_acceptable("127.0.0.1:96x", 9615));
  EXPECT_FALSE(host_is_acceptable("[::1]x", 9615));
  EXPECT_FALSE(host_is_acceptable("[::1:9615", 9615));
  EXPECT_FALSE(host_is_acceptable("[evil]:9615", 9615));
  EXPECT_FALSE(host_is_acceptable("", 9615));
}

TEST(DashboardGuard, OriginMustBeTheEndpointsOwnWhenPresent) {
  EXPECT_TRUE(origin_is_acceptable("", "127.0.0.1:9615"));
  EXPECT_TRUE(origin_is_acceptable("http://127.0.0.1:9615", "127.0.0.1:9615"));
  EXPECT_TRUE(origin_is_acceptable("http://localhost:9615", "LOCALHOST:9615"));
  EXPECT_FALSE(origin_is_acceptable("http://evil.example", "127.0.0.1:9615"));
  EXPECT_FALSE(origin_is_acceptable("http://127.0.0.1:9616", "127.0.0.1:9615"));
  EXPECT_FALSE(origin_is_acceptable("https://127.0.0.1:9615", "127.0.0.1:9615"));
  EXPECT_FALSE(origin_is_acceptable("null", "127.0.0.1:9615"));  // a sandboxed frame, a file:// page
}

TEST(DashboardGuard, OnlyTheExactBearerTokenMatches) {
  EXPECT_TRUE(bearer_matches("Bearer " + kToken, kToken));
  EXPECT_TRUE(bearer_matches("bearer " + kToken, kToken));
  EXPECT_FALSE(bearer_matches("", kToken));
  EXPECT_FALSE(bearer_matches(kToken, kToken));
  EXPECT_FALSE(bearer_matches("Basic " + kToken, kToken));
  EXPECT_FALSE(bearer_matches("Bearer " + kToken + "a", kToken));
  EXPECT_FALSE(bearer_matches("Bearer " + kToken.substr(1), kToken));
  std::string last_differs = kToken;
  last_differs.back() = 'b';
  EXPECT_FALSE(bearer_matches("Bearer " + last_differs, kToken));
  EXPECT_FALSE(bearer_matches("Bearer ", ""));  // no token configured: nothing matches
  EXPECT_TRUE(is_valid_token(kToken));
  EXPECT_FALSE(is_valid_token(std::string(64, 'A')));
  EXPECT_FALSE(is_valid_token(std::string(63, 'a')));
}

TEST(DashboardGuard, ActionsBecomeTheirRpcCallsAndNothingElse) {
  std::string why;
  auto call = action_call(R"({"action":"restart","target":"api"})", why);
  ASSERT_TRUE(call) << why;
  EXPECT_EQ(call->method, "restart");
  EXPECT_EQ(call->params, (nlohmann::json{{"targets", {"api"}}}));

  call = action_call(R"({"action":"stop","target":3})", why);
  ASSERT_TRUE(call) << why;
  EXPECT_EQ(call->method, "stop");
  EXPECT_EQ(call->params, (nlohmann::json{{"targets", {"3"}}}));

  call = action_call(R"({"action":"reload","target":"0"})", why);
  ASSERT_TRUE(call) << why;
  EXPECT_EQ(call->method, "reload");

  call = action_call(R"({"action":"scale","target":"api","instances":3})", why);
  ASSERT_TRUE(call) << why;
  EXPECT_EQ(call->method, "scale");
  EXPECT_EQ(call->params, (nlohmann::json{{"name", "api"}, {"count", "3"}}));

  const auto refused = [](const std::string& body) {
    std::string reason;
    const bool ok = action_call(body, reason).has_value();
    EXPECT_FALSE(reason.empty()) << body;
    return !ok;
  };
  EXPECT_TRUE(refused("not json"));
  EXPECT_TRUE(refused("[]"));
  EXPECT_TRUE(refused(R"({"action":"delete","target":"api"})"));
  EXPECT_TRUE(refused(R"({"action":"start","target":"api"})"));
  EXPECT_TRUE(refused(R"({"action":"restart"})"));
  EXPECT_TRUE(refused(R"({"action":"restart","target":""})"));
  EXPECT_TRUE(refused(R"({"action":"restart","target":-1})"));
  EXPECT_TRUE(refused(R"({"action":"restart","target":"a\nb"})"));
  EXPECT_TRUE(refused(R"({"action":"restart","target":")" + std::string(257, 'x') + R"("})"));
  // Nothing but the three fields reaches the daemon: no env, specs or renames smuggled in.
  EXPECT_TRUE(refused(R"({"action":"restart","target":"api","env":{"A":"1"}})"));
  EXPECT_TRUE(refused(R"({"action":"restart","target":"api","instances":2})"));
  EXPECT_TRUE(refused(R"({"action":"scale","target":"api"})"));
  EXPECT_TRUE(refused(R"({"action":"scale","target":"api","instances":-1})"));
  EXPECT_TRUE(refused(R"({"action":"scale","target":"api","instances":4097})"));
  EXPECT_TRUE(refused(R"({"action":"scale","target":"api","instances":"+1"})"));
}

TEST(DashboardGuard, AppFilterIsBoundedAndPrintable) {
  EXPECT_TRUE(is_valid_app_filter(""));
  EXPECT_TRUE(is_valid_app_filter("api"));
  EXPECT_TRUE(is_valid_app_filter("caf\xc3\xa9"));
  EXPECT_FALSE(is_valid_app_filter(std::string(257, 'x')));
  EXPECT_FALSE(is_valid_app_filter("a\rb"));
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("127.1.2.3"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_FALSE(is_loopback("0.0.0.0"));
  EXPECT_FALSE(is_loopback("10.0.0.1"));
}

}  // namespace
}  // namespace drove::web
