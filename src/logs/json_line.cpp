// JSON rendering of log lines; see json_line.hpp.
#include "logs/json_line.hpp"

#include <cstdint>

namespace drove::logs {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one (overlong forms,
// surrogates and code points past U+10FFFF are rejected, as RFC 3629 requires).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0Fu;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07u;
  } else
    return 0;
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return len;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run_start = 0;  // plain bytes are copied in runs, not one by one
  std::size_t i = 0;
  auto flush_run = [&] { out.append(text.substr(run_start, i - run_start)); };
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte < 0x80 && byte != '"' && byte != '\\') {
      ++i;
      continue;
    }
    if (byte >= 0x80) {
      const std::size_t len = utf8_sequence_length(text, i);
      if (len > 0) {
        i += len;
        continue;
      }
      flush_run();
      out.append("\\ufffd");
      run_start = ++i;
      continue;
    }
    flush_run();
    switch (byte) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:
        out.append("\\u00");
        out.push_back(kHex[byte >> 4]);
        out.push_back(kHex[byte & 0xF]);
    }
    run_start = ++i;
  }
  flush_run();
  out.push_back('"');
}

void append_json_line(std::string& out, const JsonLineFields& fields) {
  out.append("{\"message\":");
  append_json_string(out, fields.message);
  if (fields.ends_line) out.insert(out.size() - 1, "\\n");
  out.append(",\"timestamp\":");
  append_json_string(out, fields.timestamp);
  out.append(fields.is_err ? ",\"type\":\"err\",\"process_id\":" : ",\"type\":\"out\",\"process_id\":");
  out.append(std::to_string(fields.process_id));
  out.append(",\"app_name\":");
  append_json_string(out, fields.app_name);
  out.append("}\n");
}

}  // namespace drove::logs
