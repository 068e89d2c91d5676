#include "config/json_document.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "base/json_limits.hpp"

namespace drove::config {
namespace {

bool is_utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Walks text nlohmann has already accepted, so it can trust the grammar and only has to keep
// count of lines, columns and the path to the current value.
class PositionScanner {
 public:
  PositionScanner(const std::string& text, const std::string& file, Document& doc)
      : text_(text), file_(file), doc_(doc) {}

  void scan() {
    if (text_.rfind("\xEF\xBB\xBF", 0) == 0) pos_ = 3;  // a UTF-8 BOM, which nlohmann skips too
    value("");
  }

 private:
  [[nodiscard]] char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void advance() {
    if (pos_ >= text_.size()) return;
    if (text_[pos_] == '\n') {
      ++line_;
      column_ = 1;
    } else if (!is_utf8_continuation(text_[pos_])) {
      ++column_;
    }
    ++pos_;
  }

  void skip_blank() {
    while (pos_ < text_.size()) {
      const char c = peek();
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        advance();
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
        // nlohmann ends a line comment at '\n', '\r' or NUL: so must this pass.
        while (pos_ < text_.size() && peek() != '\n' && peek() != '\r' && peek() != '\0') advance();
        if (peek() == '\0' && pos_ < text_.size()) advance();  // nlohmann consumes that NUL with the comment
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '*') {
        advance();
        advance();
        while (pos_ < text_.size() && !(peek() == '*' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/')) advance();
        advance();
        advance();
      } else {
        return;
      }
    }
  }

  // Keys are reported by line: "file:12: unknown option ...", the form users grep for.
  [[nodiscard]] SourceLocation here() const { return SourceLocation{file_, line_, 0}; }

  std::string string_token() {
    const size_t start = pos_;
    advance();  // opening quote
    while (pos_ < text_.size() && peek() != '"') {
      if (peek() == '\\') advance();
      advance();
    }
    advance();  // closing quote
    return nlohmann::json::parse(text_.substr(start, pos_ - start)).get<std::string>();
  }

  void value(const std::string& pointer) {
    skip_blank();
    const char c = peek();
    if (c == '{') {
      advance();
      for (;;) {
        skip_blank();
        if (peek() == '}' || pos_ >= text_.size()) break;
        const SourceLocation key_at = here();
        const std::string child = pointer_append(pointer, string_token());
        doc_.positions[child] = key_at;
        skip_blank();
        advance();  // ':'
        value(child);
        skip_blank();
        if (peek() == ',') advance();
      }
      advance();
    } else if (c == '[') {
      advance();
      for (size_t index = 0;; ++index) {
        skip_blank();
        if (peek() == ']' || pos_ >= text_.size()) break;
        const std::string child = pointer_append(pointer, std::to_string(index));
        doc_.positions[child] = here();
        value(child);
        skip_blank();
        if (peek() == ',') advance();
      }
      advance();
    } else if (c == '"') {
      string_token();
    } else {
      while (pos_ < text_.size() && std::string_view(",}] \t\r\n/").find(peek()) == std::string_view::npos) advance();
    }
  }

  const std::string& text_;
  const std::string& file_;
  Document& doc_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
};

// nlohmann points at the last character of the token it could not accept; the user wants its
// first ("expected ',' before this").
size_t token_start(const std::string& text, size_t offset) {
  if (offset >= text.size()) return offset;
  if (text[offset] == '"') {
    for (size_t i = offset; i-- > 0;) {
      if (text[i] == '"' && (i == 0 || text[i - 1] != '\\')) return i;
      if (text[i] == '\n') break;
    }
    return offset;
  }
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+'; };
  if (!is_word(text[offset])) return offset;
  while (offset > 0 && is_word(text[offset - 1])) --offset;
  return offset;
}

// nlohmann's what() reads "[json.exception.parse_error.101] parse error at line 3, column 5:
// syntax error while parsing ..."; the part after the position is what the user needs.
std::string parser_complaint(const std::string& what) {
  const auto column = what.find("column ");
  const auto colon = column == std::string::npos ? what.find(": ") : what.find(": ", column);
  std::string complaint = colon == std::string::npos ? what : what.substr(colon + 2);
  // "last read: '...'" may span lines; one line of it is enough and keeps the message on one.
  const auto quote = complaint.find("last read: '");
  if (quote != std::string::npos) {
    const size_t start = quote + std::string("last read: '").size();
    const auto end = complaint.find("'; ", start);
    if (end != std::string::npos) {
      std::string read = complaint.substr(start, end - start);
      if (const auto newline = read.rfind('\n'); newline != std::string::npos) read = read.substr(newline + 1);
      complaint = complaint.substr(0, start) + read + complaint.substr(end);
    }
  }
  for (char& c : complaint) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return complaint;
}

}  // namespace

std::string relax_js_literal(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 64);
  const size_t n = text.size();
  // Index of the next byte that is neither blank nor inside a comment, from `i`.
  auto next_token = [&](size_t i) {
    while (i < n) {
      const char c = text[i];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++i;
      } else if (c == '/' && i + 1 < n && text[i + 1] == '/') {
        while (i < n && text[i] != '\n' && text[i] != '\r' && text[i] != '\0') ++i;
        if (i < n && text[i] == '\0') ++i;
      } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
        const auto end = text.find("*/", i + 2);
        i = end == std::string::npos ? n : end + 2;
      } else {
        break;
      }
    }
    return i;
  };
  auto is_ident_start = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$'; };
  auto is_ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; };
  for (size_t i = 0; i < n;) {
    const char c = text[i];
    if (c == '"') {  // a JSON string: copied as it is
      const size_t start = i++;
      while (i < n && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
      i = std::min(i + 1, n);
      out.append(text, start, i - start);
    } else if (c == '\'') {  // 'text' -> "text"
      out += '"';
      for (++i; i < n && text[i] != '\''; ++i) {
        if (text[i] == '\\' && i + 1 < n) {
          if (text[i + 1] == '\'')
            out += '\'';
          else
            out.append(text, i, 2);
          ++i;
        } else if (text[i] == '"') {
          out += "\\\"";
        } else {
          out += text[i];
        }
      }
      if (i < n) ++i;
      out += '"';
    } else if (c == '/' && i + 1 < n && (text[i + 1] == '/' || text[i + 1] == '*')) {  // comments: kept
      const bool line = text[i + 1] == '/';
      const auto end = line ? text.find_first_of(std::string_view("\n\r\0", 3), i) : text.find("*/", i + 2);
      const size_t stop = end == std::string::npos ? n : (line ? end : end + 2);
      out.append(text, i, stop - i);
      i = stop;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.') {  // a number
      const size_t start = i;
      while (i < n && (is_ident(text[i]) || text[i] == '.' || text[i] == '-' || text[i] == '+')) ++i;
      out.append(text, start, i - start);
    } else if (is_ident_start(c)) {  // a bare word: a key when a ':' follows
      const size_t start = i;
      while (i < n && is_ident(text[i])) ++i;
      const std::string word = text.substr(start, i - start);
      const size_t after = next_token(i);
      if (after < n && text[after] == ':' && word != "true" && word != "false" && word != "null") {
        out += '"' + word + '"';
      } else {
        out += word;
      }
    } else if (c == ',') {  // a trailing comma before } or ] is dropped (a blank keeps the columns)
      const size_t after = next_token(i + 1);
      out += after < n && (text[after] == '}' || text[after] == ']') ? ' ' : ',';
      ++i;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

namespace {}  // namespace

SourceLocation location_of_offset(const std::string& text, size_t offset, const std::string& file) {
  SourceLocation where{file, 1, 1};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++where.line;
      where.column = 1;
    } else if (!is_utf8_continuation(text[i])) {
      ++where.column;
    }
  }
  return where;
}

Document parse_json_document(const std::string& original, const std::string& display_name,
                             const std::string& base_dir) {
  const std::string text = relax_js_literal(original);
  Document doc;
  doc.display_name = display_name;
  doc.base_dir = base_dir;
  // Both nlohmann's tree and PositionScanner recurse per level: refuse a bomb before either runs.
  if (const auto deep = json_too_deep_at(text)) {
    throw ConfigError(location_of_offset(text, *deep, display_name),
                      "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  try {
    doc.root = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& error) {
    // error.byte is 1-based and points at the character that could not be accepted.
    const size_t offset = token_start(text, error.byte > 0 ? error.byte - 1 : 0);
    throw ConfigError(location_of_offset(text, offset, display_name), parser_complaint(error.what()));
  } catch (const nlohmann::json::out_of_range& error) {
    // "number overflow parsing '1e999'": a number no double holds (found by the ecosystem_json
    // fuzzer: it escaped as a non-ConfigError). Located by the number's first occurrence.
    const std::string what = error.what();
    const auto open = what.find('\'');
    const auto close = what.rfind('\'');
    const std::string number = open != std::string::npos && close > open ? what.substr(open + 1, close - open - 1) : "";
    const auto at = number.empty() ? std::string::npos : text.find(number);
    throw ConfigError(location_of_offset(text, at == std::string::npos ? 0 : at, display_name),
                      "number out of range: " + (number.empty() ? std::string("?") : number));
  }
  try {
    PositionScanner(text, display_name, doc).scan();
  } catch (const nlohmann::json::exception&) {
    // The position pass follows nlohmann's grammar; should they ever disagree (they did on where
    // a comment ends: found by the ecosystem_json fuzzer), the file is refused, the CLI stands.
    throw ConfigError(SourceLocation{display_name}, "could not locate the keys of this file; is it valid JSON?");
  }
  return doc;
}

}  // namespace drove::config
