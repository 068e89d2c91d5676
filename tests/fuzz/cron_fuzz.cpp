// Fuzz target: `cron_restart` validation (config::cron_syntax_error), run by `start` on a
// user-written expression. Oracles: deterministic; a verdict is one line.
#include <string>

#include "config/cron_syntax.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string expression(reinterpret_cast<const char*>(data), size);
  const auto verdict = drove::config::cron_syntax_error(expression);
  drove::fuzz::check(verdict == drove::config::cron_syntax_error(expression), "verdict is not deterministic");
  if (verdict) drove::fuzz::check(!verdict->empty(), "an empty error message");
  return 0;
}
