#include <gtest/gtest.h>

#include "config/app_environment.hpp"
#include "config/cron_syntax.hpp"
#include "config/option_names.hpp"
#include "config/units.hpp"

namespace drove::config {
namespace {

TEST(ConfigUnits, SizesAcceptPm2SuffixesInBinaryUnits) {
  EXPECT_EQ(parse_size("1024"), 1024);
  EXPECT_EQ(parse_size("10K"), 10 * 1024);
  EXPECT_EQ(parse_size("500M"), 500LL * 1024 * 1024);
  EXPECT_EQ(parse_size("1G"), 1024LL * 1024 * 1024);
  EXPECT_EQ(parse_size("1.5g"), 1536LL * 1024 * 1024);
  EXPECT_EQ(parse_size("200MB"), 200LL * 1024 * 1024);
  EXPECT_EQ(parse_size("12X"), std::nullopt);
  EXPECT_EQ(parse_size("M"), std::nullopt);
  EXPECT_EQ(parse_size("-5M"), std::nullopt);
  EXPECT_EQ(parse_size(""), std::nullopt);
}

TEST(ConfigUnits, DurationsAreMillisecondsUnlessSuffixed) {
  EXPECT_EQ(parse_duration_ms("1500"), 1500);
  EXPECT_EQ(parse_duration_ms("500ms"), 500);
  EXPECT_EQ(parse_duration_ms("10s"), 10'000);
  EXPECT_EQ(parse_duration_ms("2m"), 120'000);
  EXPECT_EQ(parse_duration_ms("1h"), 3'600'000);
  EXPECT_EQ(parse_duration_ms("1.5s"), 1500);
  EXPECT_EQ(parse_duration_ms("soon"), std::nullopt);
  EXPECT_EQ(parse_duration_ms("10 s"), std::nullopt);
  EXPECT_EQ(parse_duration_ms("5w"), std::nullopt);
}

// Found by the units fuzz target: a product past int64 came back as LLONG_MIN, a negative size
// (max_memory_restart) or duration, instead of a refusal.
TEST(ConfigUnits, SizesAndDurationsTooLargeForInt64AreRefusedNotNegative) {
  EXPECT_EQ(parse_size("9999999999G"), std::nullopt);
  EXPECT_EQ(parse_size("9000000000000000g"), std::nullopt);
  EXPECT_EQ(parse_duration_ms("9000000000000000d"), std::nullopt);
  EXPECT_EQ(parse_duration_ms("200000000000000h"), std::nullopt);
  // The largest values that fit still parse.
  EXPECT_EQ(parse_size("8000000000G"), 8000000000LL * 1024 * 1024 * 1024);
  EXPECT_EQ(parse_duration_ms("100000000000d"), 100000000000LL * 86'400'000);
}

TEST(ConfigUnits, ShellSplitRespectsQuotesAndEscapes) {
  using Words = std::vector<std::string>;
  EXPECT_EQ(shell_split("--port 80  -v"), (Words{"--port", "80", "-v"}));
  EXPECT_EQ(shell_split(R"(--name 'nightly job' --msg "say \"hi\"")"),
            (Words{"--name", "nightly job", "--msg", "say \"hi\""}));
  EXPECT_EQ(shell_split(R"(a\ b '' c)"), (Words{"a b", "", "c"}));
  EXPECT_EQ(shell_split("   "), Words{});
  EXPECT_EQ(shell_split("'open"), std::nullopt);
}

TEST(ConfigCron, AcceptsFiveAndSixFieldsNamesRangesStepsAndMacros) {
  for (const char* ok : {"0 3 * * *", "*/15 * * * *", "0 0 1,15 * mon-fri", "30 0 9-17/2 * jan,jul sun",
                         "0 */5 * * * *", "@daily", "0 0 * * 7"}) {
    EXPECT_EQ(cron_syntax_error(ok), std::nullopt) << ok;
  }
}

TEST(ConfigCron, ExplainsWhatIsWrong) {
  EXPECT_EQ(cron_syntax_error("61 * * * *"), "field 1 (minute): 61 is out of range 0-59");
  EXPECT_EQ(cron_syntax_error("* 24 * * *"), "field 2 (hour): 24 is out of range 0-23");
  EXPECT_EQ(cron_syntax_error("* * * foo *"), "field 4 (month): 'foo' is not a valid value");
  EXPECT_EQ(cron_syntax_error("*/0 * * * *"), "field 1 (minute): '0' is not a valid step");
  EXPECT_EQ(cron_syntax_error("* * *"),
            "expected 5 fields (minute hour day month weekday) or 6 (with seconds first), got 3");
}

TEST(ConfigOptionNames, AliasesAndCamelCaseFindTheCanonicalKey) {
  EXPECT_EQ(lookup_option_key("cmd").canonical, "script");
  EXPECT_EQ(lookup_option_key("exec").canonical, "script");
  EXPECT_EQ(lookup_option_key("maxRestarts").canonical, "max_restarts");
  EXPECT_EQ(lookup_option_key("errLog").canonical, "error_file");
  EXPECT_EQ(lookup_option_key("nodeArgs").canonical, "interpreter_args");
  EXPECT_EQ(lookup_option_key("user").canonical, "uid");
  EXPECT_EQ(lookup_option_key("env_production").kind, KeyKind::environment);
  EXPECT_EQ(lookup_option_key("vizion").kind, KeyKind::ignored);
  EXPECT_EQ(lookup_option_key("instance").kind, KeyKind::unknown);
}

TEST(ConfigOptionNames, SuggestsTheClosestSpellingOnlyWhenClose) {
  EXPECT_EQ(suggest_option_key("instance"), "instances");
  EXPECT_EQ(suggest_option_key("scirpt"), "script");
  EXPECT_EQ(suggest_option_key("maxRestart"), "maxRestarts");
  EXPECT_EQ(suggest_option_key("max_memory"), std::nullopt);
  EXPECT_EQ(suggest_option_key("frobnicate"), std::nullopt);
  EXPECT_EQ(edit_distance("scirpt", "script"), 1u);
}

// Found by the ecosystem_json fuzz target (UBSan): a whole number in an env, `"PORT": 1e31`, was
// cast to long long before its range was checked. Env numbers read as JavaScript prints them.
TEST(ConfigEnvValues, NumbersReadAsJavaScriptPrintsThemWithoutAnOutOfRangeCast) {
  EXPECT_EQ(env_value_text(nlohmann::json(2.0)), "2");
  EXPECT_EQ(env_value_text(nlohmann::json(-0.0)), "0");
  EXPECT_EQ(env_value_text(nlohmann::json(1e16)), "10000000000000000");
  EXPECT_EQ(env_value_text(nlohmann::json(1e31)), "1e+31");
  EXPECT_EQ(env_value_text(nlohmann::json(-1e31)), "-1e+31");
  EXPECT_EQ(env_value_text(nlohmann::json(1.5)), "1.5");
  EXPECT_EQ(env_value_text(nlohmann::json(8080)), "8080");
}

// Found by the ecosystem_yaml fuzz target (its slowest path): every unknown key was compared
// with every option by a full edit distance, O(key length x option length x options). A key of
// a megabyte would keep the CLI busy for minutes (and this test past ctest's timeout); keys
// whose length alone rules out a typo are not compared.
TEST(ConfigOptionNames, AHugeUnknownKeyIsNotComparedCharacterByCharacter) {
  const std::string huge(8u << 20, 'i');
  EXPECT_EQ(suggest_option_key(huge), std::nullopt);
  EXPECT_EQ(suggest_option_key("instancesss"), "instances");   // 2 past: still a typo
  EXPECT_EQ(suggest_option_key("instancessss"), "instances");  // 3 for a long key
  EXPECT_EQ(suggest_option_key("instancesssss"), std::nullopt);
}

}  // namespace
}  // namespace drove::config
