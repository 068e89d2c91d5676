#include "ipc/line_framer.hpp"

#include <algorithm>

namespace drove::ipc {
namespace {

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

void emit(std::string_view line, std::vector<std::string>& out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!is_blank(line)) out.emplace_back(line);
}

}  // namespace

bool LineFramer::feed(std::string_view chunk, std::vector<std::string>& out) {
  if (overflowed_) return false;
  while (!chunk.empty()) {
    const auto nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      if (partial_.size() + chunk.size() > max_line_bytes_) {
        overflowed_ = true;
        partial_.clear();
        partial_.shrink_to_fit();
        return false;
      }
      partial_.append(chunk);
      return true;
    }
    if (partial_.empty()) {
      // The common case (whole line in one read) avoids a copy into partial_.
      if (nl > max_line_bytes_) {
        overflowed_ = true;
        return false;
      }
      emit(chunk.substr(0, nl), out);
    } else {
      if (partial_.size() + nl > max_line_bytes_) {
        overflowed_ = true;
        partial_.clear();
        return false;
      }
      partial_.append(chunk.substr(0, nl));
      emit(partial_, out);
      partial_.clear();
    }
    chunk.remove_prefix(nl + 1);
  }
  return true;
}

}  // namespace drove::ipc
