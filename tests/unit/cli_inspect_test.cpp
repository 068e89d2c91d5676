// `drove prettylist` prints what `pm2 prettylist` prints: Node's util.inspect of the list. Each
// case is laid out by our node_inspect() and by the node on this machine; they must be equal
// byte for byte.
#include <gtest/gtest.h>

#include <cstdlib>

#include "cli/inspect.hpp"
#include "process/run_capture.hpp"

namespace drove::cli {
namespace {

using ordered = nlohmann::ordered_json;

std::string node_says(const ordered& value) {
  const char* path = std::getenv("PATH");
  auto r = process::run_capture({"node", "-e",
                                 "process.stdout.write(require('util').inspect(JSON.parse(require('fs').readFileSync(0,"
                                 " 'utf8')), false, null, false))"},
                                {{"PATH", path ? path : "/usr/bin:/bin"}}, ".", value.dump(), 20000);
  if (!r.ok() || r->exit_code != 0) return "<node failed>";
  return r->out;
}

bool have_node() {
  const char* path = std::getenv("PATH");
  auto r = process::run_capture({"node", "--version"}, {{"PATH", path ? path : "/usr/bin:/bin"}}, ".", "", 20000);
  return r.ok() && r->exit_code == 0;
}

void expect_as_node(const std::string& text) {
  const ordered value = ordered::parse(text);
  EXPECT_EQ(node_inspect(value), node_says(value)) << text;
}

TEST(NodeInspect, LaysOutLikeNode) {
  if (!have_node()) GTEST_SKIP() << "node is not installed (scripts/setup.sh installs it)";
  const char* cases[] = {
      R"([])",
      R"({})",
      R"([[], {}, null, true, false])",
      R"("plain")",
      R"(42)",
      R"([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 100, 2000, 30000])",
      R"(["a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g", "hh", "iii", "jjjj"])",
      R"({"a": 1, "b": "two", "c": [1, 2], "d": {"e": {"f": {"g": 1}}}})",
      R"({"valid_key": 1, "not-valid": 2, "with space": 3, "2": "two", "10": "ten", "01": "zero-one", "": 4})",
      R"(["it's", "say \"hi\"", "both ' and \"", "all ' \" `", "back\\slash", "tab\tnew\nline", "\u0001\u007f\u0085", "é ü 中文 😀"])",
      R"([0.5, 0.1, 1e21, 1e-7, 0.000001, 123.456, -0.0, 2.0, -3.25, 1.5e300, 12345678901234567890])",
      R"({"text": "line one of a long text that goes on and on\nline two of the long text that also goes on for a while and then more"})",
      R"({"a": {"b": {"c": {"text": "line one of a long text that goes on\nline two of the long text that also goes on"}}}})",
  };
  for (const char* c : cases) expect_as_node(c);
  // More than 100 items, and arrays of mixed lengths (grouping rules).
  ordered many = ordered::array();
  for (int i = 0; i < 130; ++i) many.push_back(i * 7);
  EXPECT_EQ(node_inspect(many), node_says(many));
  ordered mixed = ordered::array();
  for (int i = 0; i < 40; ++i) mixed.push_back(std::string(static_cast<std::size_t>(i % 9), 'x'));
  mixed.push_back(std::string(60, 'y'));
  EXPECT_EQ(node_inspect(mixed), node_says(mixed));
  ordered records = ordered::array();
  for (int i = 0; i < 8; ++i) records.push_back({{"id", i}, {"name", "n" + std::to_string(i)}, {"tags", {"a", "b"}}});
  EXPECT_EQ(node_inspect(records), node_says(records));
}

}  // namespace
}  // namespace drove::cli
