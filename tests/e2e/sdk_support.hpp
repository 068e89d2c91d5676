// Helpers for the SDK tests: run an example program with the library itself (its stdout
// collected on a drove::EventLoop) while client threads talk to it.
#pragma once

#include <signal.h>

#include <future>
#include <string>
#include <vector>

#include <drove/process.hpp>

#include "harness.hpp"

namespace drove::e2e {

// build/examples/<name>, next to the drove binary.
inline std::string example(const std::string& name) {
  const std::string bin = DROVE_BIN;
  return bin.substr(0, bin.rfind('/')) + "/examples/" + name;
}

inline int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
  return n;
}

// Connects to 127.0.0.1:port, sends nothing, returns what arrives until EOF ("" on failure).
std::string tcp_read_all(int port);

// One example process, its output gathered as it comes.
struct RunningExample {
  EventLoop loop;
  Child child;
  std::string out;
  std::optional<ExitInfo> exit;

  // `name`: an example of build/examples/, or an absolute path.
  RunningExample(const std::string& name, const std::vector<std::string>& args);
  ~RunningExample();  // SIGKILLs it (by pid) if still running
  // Runs the loop until `out` holds `needle` `count` times.
  bool wait_output(const std::string& needle, int count = 1, std::int64_t timeout_ms = 15000);
  // Runs the loop while `work` runs on another thread; returns its result.
  template <class F>
  auto while_running(F work) {
    auto f = std::async(std::launch::async, std::move(work));
    loop.run_until([&] { return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }, 30000);
    return f.get();
  }
  bool wait_exit(std::int64_t timeout_ms = 15000);
};

}  // namespace drove::e2e
