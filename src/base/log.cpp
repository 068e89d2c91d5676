#include "base/log.hpp"

#include <sys/time.h>
#include <unistd.h>

#include <ctime>
#include <string>

namespace drove {

void write_diagnostic(LogLevel level, std::string_view text) {
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
