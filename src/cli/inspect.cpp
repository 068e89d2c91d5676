#include "cli/inspect.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

namespace drove::cli {
namespace {

using ordered = nlohmann::ordered_json;

constexpr int kCompact = 3;
constexpr std::size_t kBreakLength = 80;
constexpr std::size_t kMaxArrayLength = 100;
constexpr std::size_t kMinLineWidth = 16;

// Length as JavaScript counts it (UTF-16 code units), for the layout decisions.
std::size_t js_length(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    n += c >= 0xF0 ? 2 : 1;            // 4-byte sequences are surrogate pairs
  }
  return n;
}

bool is_identifier(std::string_view key) {
  if (key.empty()) return false;
  auto word = [](char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!word(key[0])) return false;
  return std::all_of(key.begin() + 1, key.end(), [&](char c) { return word(c) || (c >= '0' && c <= '9'); });
}

// A canonical array index ("0", "42", not "01"): JavaScript lists such keys first, ascending.
bool is_index_key(std::string_view key, std::uint64_t& index) {
  if (key.empty() || key.size() > 10 || (key.size() > 1 && key[0] == '0')) return false;
  std::uint64_t v = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v >= 4294967295ULL) return false;
  index = v;
  return true;
}

// Node's strEscape: single quotes unless the text has one (then double quotes, or backticks).
std::string quote(std::string_view s) {
  char q = '\'';
  if (s.find('\'') != std::string_view::npos) {
    if (s.find('"') == std::string_view::npos)
      q = '"';
    else if (s.find('`') == std::string_view::npos && s.find("${") == std::string_view::npos)
      q = '`';
  }
  std::string out(1, q);
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    char buf[8];
    if (c == static_cast<unsigned char>(q) && q == '\'') {
      out += "\\'";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c == 0x7F) {
      switch (c) {
        case '\b':
          out += "\\b";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\r':
          out += "\\r";
          break;
        default:
          std::snprintf(buf, sizeof buf, "\\x%02X", c);
          out += buf;
      }
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned char>(s[i + 1]));  // C1 controls
      out += buf;
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += q;
  return out;
}

// ECMAScript's Number::toString: the shortest digits that round-trip, in fixed notation for
// exponents from -6 to 20, else as d.ddde±n.
std::string number_text(const ordered& v) {
  // Integers JavaScript holds exactly print as they are; larger ones are doubles there too.
  constexpr std::uint64_t kExact = std::uint64_t{1} << 53;
  if (v.is_number_unsigned() && v.get<std::uint64_t>() <= kExact) return v.dump();
  if (v.is_number_integer() && !v.is_number_unsigned()) {
    const std::int64_t i = v.get<std::int64_t>();
    if (i >= -static_cast<std::int64_t>(kExact) && i <= static_cast<std::int64_t>(kExact)) return v.dump();
  }
  const double d = v.get<double>();
  if (d == 0) return std::signbit(d) ? "-0" : "0";
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, std::fabs(d), std::chars_format::scientific);
  const std::string sci(buf, r.ptr);  // "1.2345e+02"
  const auto e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int k = static_cast<int>(digits.size());
  const int n = std::stoi(sci.substr(e + 1)) + 1;  // the decimal point sits after n digits
  std::string out = d < 0 ? "-" : "";
  if (k <= n && n <= 21) {
    out += digits + std::string(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(n)) + "." + digits.substr(static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += (n - 1 >= 0 ? "e+" : "e-") + std::to_string(std::abs(n - 1));
  }
  return out;
}

struct Inspector {
  std::size_t indentation = 0;
  int current_depth = 0;

  std::string string_value(const std::string& s) const {
    const std::size_t len = js_length(s);
    if (len > kMinLineWidth && len + indentation + 4 > kBreakLength && s.find('\n') != std::string::npos &&
        s.find('\n') + 1 < s.size()) {
      // Long text with line breaks: one quoted piece per line, joined with " +".
      std::string out;
      std::size_t start = 0;
      while (start < s.size()) {
        std::size_t nl = s.find('\n', start);
        const std::size_t end = nl == std::string::npos ? s.size() : nl + 1;
        if (!out.empty()) out += " +\n" + std::string(indentation + 2, ' ');
        out += quote(std::string_view(s).substr(start, end - start));
        start = end;
      }
      return out;
    }
    return quote(s);
  }

  std::string value(const ordered& v, int recurse_times) {
    switch (v.type()) {
      case ordered::value_t::null:
        return "null";
      case ordered::value_t::boolean:
        return v.get<bool>() ? "true" : "false";
      case ordered::value_t::string:
        return string_value(v.get_ref<const std::string&>());
      case ordered::value_t::number_integer:
      case ordered::value_t::number_unsigned:
      case ordered::value_t::number_float:
        return number_text(v);
      case ordered::value_t::array:
        return array(v, recurse_times);
      case ordered::value_t::object:
        return object(v, recurse_times);
      default:
        return "undefined";
    }
  }

  std::string array(const ordered& v, int recurse_times) {
    if (v.empty()) return "[]";
    ++recurse_times;
    current_depth = recurse_times;
    std::vector<std::string> output;
    const std::size_t shown = std::min(v.size(), kMaxArrayLength);
    for (std::size_t i = 0; i < shown; ++i) {
      indentation += 2;
      output.push_back(value(v[i], recurse_times));
      indentation -= 2;
    }
    if (v.size() > shown) {
      const std::size_t more = v.size() - shown;
      output.push_back("... " + std::to_string(more) + " more item" + (more > 1 ? "s" : ""));
    }
    return reduce(std::move(output), "[", "]", &v, recurse_times);
  }

  std::string object(const ordered& v, int recurse_times) {
    if (v.empty()) return "{}";
    ++recurse_times;
    current_depth = recurse_times;
    // JavaScript's property order: integer-like keys ascending, then the rest as inserted.
    std::vector<std::pair<std::uint64_t, const std::string*>> index_keys;
    std::vector<const std::string*> keys;
    for (const auto& [key, _] : v.items()) {
      std::uint64_t index = 0;
      if (is_index_key(key, index))
        index_keys.emplace_back(index, &key);
      else
        keys.push_back(&key);
    }
    std::sort(index_keys.begin(), index_keys.end());
    std::vector<const std::string*> ordered_keys;
    for (const auto& [_, key] : index_keys) ordered_keys.push_back(key);
    ordered_keys.insert(ordered_keys.end(), keys.begin(), keys.end());
    std::vector<std::string> output;
    for (const std::string* key : ordered_keys) {
      indentation += 2;
      std::string text = value(v.at(*key), recurse_times);
      indentation -= 2;
      output.push_back((is_identifier(*key) ? *key : quote(*key)) + ": " + text);
    }
    return reduce(std::move(output), "{", "}", nullptr, recurse_times);
  }

  // Node's groupArrayElements: more than six entries laid out in columns when they are short.
  std::vector<std::string> group(std::vector<std::string> output, const ordered& values) const {
    std::size_t total_length = 0, max_length = 0;
    std::size_t output_length = output.size();
    if (values.size() > kMaxArrayLength) --output_length;  // "... n more items" is not grouped
    constexpr std::size_t separator_space = 2;
    std::vector<std::size_t> data_len(output_length);
    for (std::size_t i = 0; i < output_length; ++i) {
      const std::size_t len = js_length(output[i]);
      data_len[i] = len;
      total_length += len + separator_space;
      max_length = std::max(max_length, len);
    }
    const std::size_t actual_max = max_length + separator_space;
    if (actual_max * 3 + indentation < kBreakLength &&
        (static_cast<double>(total_length) / static_cast<double>(actual_max) > 5 || max_length <= 6)) {
      const double approx_char_heights = 2.5;
      const double average_bias = std::sqrt(static_cast<double>(actual_max) -
                                            static_cast<double>(total_length) / static_cast<double>(output.size()));
      const double biased_max = std::max(static_cast<double>(actual_max) - 3 - average_bias, 1.0);
      const std::size_t columns = std::min<std::size_t>(
          {static_cast<std::size_t>(std::round(
               std::sqrt(approx_char_heights * biased_max * static_cast<double>(output_length)) / biased_max)),
           (kBreakLength - indentation) / actual_max, static_cast<std::size_t>(kCompact) * 4, 15});
      if (columns <= 1) return output;
      std::vector<std::size_t> max_line_length;
      for (std::size_t i = 0; i < columns; ++i) {
        std::size_t line_length = 0;
        for (std::size_t j = i; j < output_length; j += columns) line_length = std::max(line_length, data_len[j]);
        max_line_length.push_back(line_length + separator_space);
      }
      bool pad_start = true;  // numbers are right-aligned, anything else left-aligned
      for (std::size_t i = 0; i < std::min(values.size(), output.size()); ++i) {
        if (!values[i].is_number()) {
          pad_start = false;
          break;
        }
      }
      std::vector<std::string> grouped;
      for (std::size_t i = 0; i < output_length; i += columns) {
        const std::size_t max = std::min(i + columns, output_length);
        std::string line;
        std::size_t j = i;
        for (; j < max - 1; ++j) {
          const std::string cell = output[j] + ", ";
          const std::size_t width = max_line_length[j - i];
          const std::size_t pad = width > data_len[j] + 2 ? width - data_len[j] - 2 : 0;
          line += pad_start ? std::string(pad, ' ') + cell : cell + std::string(pad, ' ');
        }
        if (pad_start) {
          const std::size_t width = max_line_length[j - i] - separator_space;
          line += std::string(width > data_len[j] ? width - data_len[j] : 0, ' ') + output[j];
        } else {
          line += output[j];
        }
        grouped.push_back(std::move(line));
      }
      if (values.size() > kMaxArrayLength) grouped.push_back(output[output_length]);
      output = std::move(grouped);
    }
    return output;
  }

  std::string reduce(std::vector<std::string> output, const char* open, const char* close, const ordered* array_values,
                     int recurse_times) {
    const std::size_t entries = output.size();
    if (array_values && entries > 6) output = group(std::move(output), *array_values);
    if (current_depth - recurse_times < kCompact && entries == output.size()) {
      // Everything on one line when it fits.
      const std::size_t start = output.size() + indentation + std::strlen(open) + 10;
      std::size_t total = output.size() + start;
      bool fits = total + output.size() <= kBreakLength;
      for (std::size_t i = 0; fits && i < output.size(); ++i) {
        total += js_length(output[i]);
        fits = total <= kBreakLength;
      }
      if (fits) {
        std::string joined;
        for (std::size_t i = 0; i < output.size(); ++i) joined += (i ? ", " : "") + output[i];
        if (joined.find('\n') == std::string::npos) return std::string(open) + " " + joined + " " + close;
      }
    }
    const std::string newline = "\n" + std::string(indentation, ' ');
    std::string out = std::string(open) + newline + "  ";
    for (std::size_t i = 0; i < output.size(); ++i) out += (i ? "," + newline + "  " : "") + output[i];
    return out + newline + close;
  }
};

}  // namespace

std::string node_inspect(const nlohmann::ordered_json& value) {
  Inspector inspector;
  return inspector.value(value, 0);
}

}  // namespace drove::cli
