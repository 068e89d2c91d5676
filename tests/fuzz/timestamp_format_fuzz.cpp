// Fuzz target: the dayjs-style date formats of `log_date_format` (logs::append_timestamp),
// applied to every log line of an app that sets one.
//
// Input: wall time (bounded to 1970..~6400, what a clock can say), UTC offset (+-24 h), then the
// format. Oracles: deterministic; appending never touches what `out` already held.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>

#include "fuzz_support.hpp"
#include "logs/timestamp_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const auto wall_ms = in.ConsumeIntegralInRange<std::int64_t>(0, std::int64_t{1} << 47);
  const int offset = in.ConsumeIntegralInRange<int>(-24 * 60, 24 * 60);
  const std::string format = in.ConsumeRemainingBytesAsString();
  std::string out = "kept";
  drove::logs::append_timestamp(out, format, wall_ms, offset);
  drove::fuzz::check(out.compare(0, 4, "kept") == 0, "append_timestamp changed what was there");
  drove::fuzz::check(out.substr(4) == drove::logs::format_timestamp(format, wall_ms, offset),
                     "formatting is not deterministic");
  return 0;
}
