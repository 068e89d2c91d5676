// One log line as a JSON object (`log_type: json`), in PM2's shape and key order:
//   {"message":"hello\n","timestamp":"2024-05-01T10:00:00.000Z","type":"out","process_id":0,"app_name":"api"}
// Like PM2, `message` carries the line's own newline (a partial-line flush has none), so the
// messages concatenated give back the exact stream.
#pragma once

#include <string>
#include <string_view>

namespace drove::logs {

// Appends `text` as a quoted JSON string. Bytes that are not valid UTF-8 become U+FFFD, so
// every line is valid JSON whatever the app printed.
void append_json_string(std::string& out, std::string_view text);

struct JsonLineFields {
  std::string_view message;    // the line's text, without its newline
  bool ends_line = true;       // append "\n" to message (the line was complete)
  std::string_view timestamp;  // already formatted
  bool is_err = false;
  int process_id = 0;
  std::string_view app_name;
};

// Appends the object and a newline to `out`.
void append_json_line(std::string& out, const JsonLineFields& fields);

}  // namespace drove::logs
