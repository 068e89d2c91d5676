// The typed error model of control commands: every kind has one wire name, no two kinds share
// one, and docs/rpc.md documents each (a client scripts against those names).
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "base/command_error.hpp"

namespace drove {
namespace {

TEST(CommandError, EveryKindHasItsOwnWireName) {
  std::set<std::string_view> names;
  std::set<ErrorCode> kinds;
  for (const auto& [code, name] : kErrorCodeNames) {
    EXPECT_TRUE(kinds.insert(code).second) << name << " listed twice";
    EXPECT_TRUE(names.insert(name).second) << name << " names two kinds";
    EXPECT_EQ(wire_name(code), name);
    EXPECT_EQ(name.substr(0, 1), "E") << name;
  }
  // The enum's last kind is `internal`: every value up to it is in the table.
  EXPECT_EQ(kinds.size(), static_cast<std::size_t>(ErrorCode::internal) + 1);
}

TEST(CommandError, DocsRpcDocumentsEveryWireName) {
  std::ifstream in(std::string(DROVE_DOCS_DIR) + "/rpc.md");
  ASSERT_TRUE(in) << "docs/rpc.md not found";
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& [code, name] : kErrorCodeNames) {
    EXPECT_NE(text.str().find("| `" + std::string(name) + "` |"), std::string::npos)
        << name << " is missing from docs/rpc.md's table of error codes";
  }
}

TEST(CommandError, AResultCarriesEitherTheValueOrTheTypedError) {
  const CommandResult<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good.value(), 7);
  const CommandResult<int> bad = CommandError{ErrorCode::not_found, "app 'x' not found"};
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::not_found);
  EXPECT_EQ(wire_name(bad.error().code), "ENOTFOUND");
  const CommandStatus done = Ok{};
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace drove
