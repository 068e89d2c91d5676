// Shared helpers of the config tests: the fixture corpus, a fixed invoking shell, and
// temporary directories holding real files.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/ecosystem.hpp"

namespace drove::config::testing {

inline std::string corpus_dir() { return std::string(DROVE_FIXTURES_DIR) + "/ecosystem"; }

// The shell `drove start` was typed in: four CPUs, a PATH with node, two secrets.
inline LoadContext shell_in(const std::string& cwd) {
  LoadContext context;
  context.cwd = cwd;
  context.shell_env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"},
                       {"HOME", "/home/tester"},
                       {"LANG", "C.UTF-8"},
                       {"SECRET_TOKEN", "s3cr3t"},
                       {"SECRET_KEY", "k"},
                       {"DROVE_TEST_VAR", "from-shell"}};
  context.cpu_count = 4;
  return context;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "drove-config-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  [[nodiscard]] const std::string& path() const { return path_; }

  // Writes `text` to `name` (directories created) and returns the absolute path.
  std::string write(const std::string& name, const std::string& text) const {
    const auto file = std::filesystem::path(path_) / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file.string();
  }

 private:
  std::string path_;
};

// The message a load fails with, or "" when it succeeds.
template <class Load>
std::string error_of(Load&& load) {
  try {
    load();
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

}  // namespace drove::config::testing
