// Fuzz target: the log line framer (logs::LineFramer), which turns whatever an app writes to
// stdout/stderr into log lines: raw, timestamped (a user-given date format) or JSON, with a
// partial-line cap and explicit partial flushes, with or without a live subscriber.
//
// Input (FuzzedDataProvider): format kind, date format, app name, cap, then a sequence of
// chunks, each optionally followed by a partial flush.
// Oracles: raw output is exactly the bytes written; JSON output is one JSON object per line
// whose messages concatenate to the bytes written (ASCII input: no U+FFFD replacement); what a
// subscriber sees concatenates to the bytes written.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>

#include "fuzz_support.hpp"
#include "logs/line_framer.hpp"

using drove::logs::FramedLine;
using drove::logs::LineFormat;
using drove::logs::LineFramer;
using drove::logs::LineVisitor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  LineFormat format;
  format.kind = in.PickValueInArray({LineFormat::Kind::raw, LineFormat::Kind::timestamped, LineFormat::Kind::json});
  format.date_format = in.ConsumeRandomLengthString(32);
  format.app_name = in.ConsumeRandomLengthString(16);
  format.process_id = in.ConsumeIntegral<int>();
  format.is_err = in.ConsumeBool();
  const std::size_t cap = in.ConsumeIntegralInRange<std::size_t>(1, 4096);
  const bool with_visitor = in.ConsumeBool();

  std::string seen;
  const LineVisitor visitor = [&seen](const FramedLine& line) {
    seen.append(line.text);
    if (line.complete) seen.push_back('\n');
  };
  LineFramer framer(format, cap);
  std::string written;
  std::string out;
  std::int64_t now_ms = 1'700'000'000'000;
  while (in.remaining_bytes() > 0) {
    const std::string chunk = in.ConsumeRandomLengthString(1024);
    now_ms += in.ConsumeIntegralInRange<std::int64_t>(0, 90'000);
    written += chunk;
    framer.feed(chunk, now_ms, out, with_visitor ? &visitor : nullptr);
    if (in.ConsumeBool()) framer.flush_partial(out, with_visitor ? &visitor : nullptr);
  }
  framer.flush_partial(out, with_visitor ? &visitor : nullptr);
  drove::fuzz::check(!framer.has_partial(), "a partial line survived flush_partial");

  if (with_visitor) drove::fuzz::check(seen == written, "subscriber did not see the bytes written");
  switch (format.kind) {
    case LineFormat::Kind::raw:
      drove::fuzz::check(out == written, "raw output differs from the bytes written");
      break;
    case LineFormat::Kind::json: {
      std::string messages;
      for (std::size_t start = 0, nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
        const auto line = nlohmann::json::parse(std::string_view(out).substr(start, nl - start), nullptr, false);
        drove::fuzz::check(line.is_object() && line.contains("message") && line["message"].is_string(),
                           "a JSON log line is not an object with a message");
        messages += line["message"].get<std::string>();
      }
      drove::fuzz::check(out.empty() || out.back() == '\n', "JSON output does not end a line");
      const bool ascii =
          std::all_of(written.begin(), written.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
      if (ascii) drove::fuzz::check(messages == written, "JSON messages differ from the bytes written");
      break;
    }
    case LineFormat::Kind::timestamped:
      drove::fuzz::check(out.size() >= written.size(), "timestamped output lost bytes");
      break;
  }
  return 0;
}
