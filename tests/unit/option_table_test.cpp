// The option table holds: every option drove accepts either has a test showing its effect,
// named in docs/pm2-compatibility.md ("## Options"), or is a PM2-only key that is accepted
// with a warning naming it. Adding an option without either fails here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "config/ecosystem.hpp"
#include "config/option_names.hpp"
#include "config_test_support.hpp"

namespace drove::config {
namespace {

const std::string kTestsDir = std::string(DROVE_FIXTURES_DIR) + "/..";
const std::string kTable = kTestsDir + "/../docs/pm2-compatibility.md";

// Options whose effect belongs to work in flight elsewhere; each must still have a row that
// says so. Keep this list short and remove entries as their tests land.
const std::set<std::string> kKnownGaps = {};

struct Row {
  std::string status;
  std::string evidence;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
  return s;
}

// The rows of the table under "## Options", by the key in the first cell's backticks.
std::map<std::string, Row> option_rows() {
  std::map<std::string, Row> rows;
  std::istringstream lines(read_text(kTable));
  bool in_section = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Options";
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream split(line.substr(1));
    for (std::string cell; std::getline(split, cell, '|');) cells.push_back(trim(cell));
    if (cells.size() < 3) continue;
    const auto open = cells[0].find('`');
    const auto close = cells[0].find('`', open + 1);
    rows[cells[0].substr(open + 1, close - open - 1)] = Row{cells[1], cells[2]};
  }
  return rows;
}

// "fork_mode_test.cpp:ForkMode.AppSeesPm2Environment" → whether that test exists.
bool test_exists(const std::string& file, const std::string& suite, const std::string& name) {
  for (const char* dir : {"/e2e/", "/unit/"}) {
    const std::string text = read_text(kTestsDir + dir + file);
    if (text.empty()) continue;
    const std::regex declared("TEST(_F|_P)?\\(" + suite + ",\\s*" + name + "\\)");
    if (std::regex_search(text, declared)) return true;
  }
  return false;
}

TEST(OptionTable, EveryOptionHasARowWithATestOrAWarning) {
  const auto rows = option_rows();
  ASSERT_FALSE(rows.empty()) << "no '## Options' table in " << kTable;
  const std::regex reference(R"(([\w]+_test\.cpp):(\w+)\.(\w+))");
  for (const auto& key : canonical_option_names()) {
    auto it = rows.find(key);
    ASSERT_NE(it, rows.end()) << "option '" << key << "' has no row in " << kTable;
    if (kKnownGaps.count(key)) {
      EXPECT_NE(it->second.status.find("not yet"), std::string::npos) << key << ": a known gap must say 'not yet'";
      continue;
    }
    EXPECT_EQ(it->second.status.find("ignored"), std::string::npos) << key << " is acted on, not ignored";
    int references = 0;
    const std::string& evidence = it->second.evidence;
    for (std::sregex_iterator m(evidence.begin(), evidence.end(), reference), end; m != end; ++m) {
      ++references;
      EXPECT_TRUE(test_exists((*m)[1], (*m)[2], (*m)[3])) << key << ": no test " << m->str();
    }
    EXPECT_GT(references, 0) << "option '" << key << "' names no test (file_test.cpp:Suite.Name) showing its effect";
  }
}

TEST(OptionTable, EveryIgnoredKeyIsDocumentedAndWarnedAbout) {
  const auto rows = option_rows();
  for (const auto& key : ignored_pm2_keys()) {
    auto it = rows.find(key);
    ASSERT_NE(it, rows.end()) << "ignored key '" << key << "' has no row in " << kTable;
    EXPECT_NE(it->second.status.find("ignored"), std::string::npos) << key;
    // The warning is real: loading it says so, naming the key.
    const auto loaded = app_from_script(std::string(DROVE_FIXTURES_DIR) + "/apps/worker.py", {{key, true}},
                                        testing::shell_in(std::filesystem::temp_directory_path().string()));
    bool warned = false;
    for (const auto& w : loaded.warnings)
      warned = warned || w.str().find("'" + key + "' has no effect") != std::string::npos;
    EXPECT_TRUE(warned) << key << " is accepted without a warning";
  }
}

TEST(OptionTable, NoRowForAnOptionThatDoesNotExist) {
  std::set<std::string> known;
  for (const auto& key : canonical_option_names()) known.insert(key);
  for (const auto& key : ignored_pm2_keys()) known.insert(key);
  known.insert("deploy");  // a top-level section, not an app option; warned by the loader
  for (const auto& [key, row] : option_rows()) EXPECT_TRUE(known.count(key)) << "stale row '" << key << "'";
}

}  // namespace
}  // namespace drove::config
