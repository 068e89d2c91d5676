#include "base/log.hpp"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <string>

namespace drove {

namespace {
std::atomic<int> threshold{0};
}  // namespace

void set_diagnostic_threshold(int level) { threshold.store(level, std::memory_order_relaxed); }

void write_diagnostic(LogLevel level, std::string_view text) {
  if (static_cast<int>(level) < threshold.load(std::memory_order_relaxed)) return;
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm parts{};
  localtime_r(&tv.tv_sec, &parts);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &parts);
  const char* tag = level == LogLevel::error ? "ERROR" : level == LogLevel::warn ? "WARN" : "INFO";
  std::string line = fmt::format("{}.{:03d} {} {}\n", stamp, static_cast<int>(tv.tv_usec / 1000), tag, text);
  // One write(2) per line, so concurrent writers never interleave inside a line.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace drove
