// Rotated-file naming and retention; see rotation.hpp.
#include "logs/rotation.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <utility>

#include "logs/timestamp_format.hpp"

namespace drove::logs {
namespace {

constexpr std::string_view kStampFormat = "YYYY-MM-DD_HH-mm-ss";
constexpr std::size_t kStampLength = 19;

// "api-out.log" -> {"api-out", ".log"}; "api" -> {"api", ""}; ".hidden" -> {".hidden", ""}.
std::pair<std::string_view, std::string_view> split_extension(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {name, {}};
  return {name.substr(0, dot), name.substr(dot)};
}

bool is_stamp(std::string_view s) {
  if (s.size() != kStampLength) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool separator = i == 4 || i == 7 || i == 10 || i == 13 || i == 16;
    if (separator ? (s[i] != (i == 10 ? '_' : '-')) : !std::isdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string rotated_path(std::string_view live_path, std::int64_t wall_ms, int utc_offset_minutes, int sequence) {
  const auto slash = live_path.rfind('/');
  const std::string_view dir = slash == std::string_view::npos ? "" : live_path.substr(0, slash + 1);
  const auto [stem, ext] = split_extension(slash == std::string_view::npos ? live_path : live_path.substr(slash + 1));
  std::string out;
  out.append(dir).append(stem).append("__");
  append_timestamp(out, kStampFormat, wall_ms, utc_offset_minutes);
  if (sequence > 0) out.append("_").append(std::to_string(sequence));
  out.append(ext);
  return out;
}

std::optional<RotatedFile> parse_rotated_name(std::string_view live_file_name, std::string_view candidate) {
  const auto [stem, ext] = split_extension(live_file_name);
  RotatedFile parsed;
  parsed.file_name = std::string(candidate);
  std::string_view rest = candidate;
  if (rest.size() < stem.size() + 2 || rest.substr(0, stem.size()) != stem || rest.substr(stem.size(), 2) != "__") {
    return std::nullopt;
  }
  rest.remove_prefix(stem.size() + 2);
  if (rest.size() < kStampLength || !is_stamp(rest.substr(0, kStampLength))) return std::nullopt;
  parsed.stamp = std::string(rest.substr(0, kStampLength));
  rest.remove_prefix(kStampLength);
  if (rest.size() >= 3 && rest.substr(rest.size() - 3) == ".gz") {
    parsed.compressed = true;
    rest.remove_suffix(3);
  }
  if (rest.size() < ext.size() || rest.substr(rest.size() - ext.size()) != ext) return std::nullopt;
  rest.remove_suffix(ext.size());
  if (!rest.empty()) {
    if (rest[0] != '_' || rest.size() < 2 || rest.size() > 7) return std::nullopt;
    int sequence = 0;
    for (char c : rest.substr(1)) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      sequence = sequence * 10 + (c - '0');
    }
    parsed.sequence = sequence;
  }
  return parsed;
}

std::vector<std::string> rotated_files_to_delete(std::string_view live_file_name,
                                                 const std::vector<std::string>& directory_entries, int retain) {
  if (retain <= 0) return {};
  // Ordered by (stamp, sequence): the stamp sorts chronologically as text.
  std::map<std::pair<std::string, int>, std::vector<std::string>> rotations;
  for (const auto& entry : directory_entries) {
    if (auto parsed = parse_rotated_name(live_file_name, entry)) {
      rotations[{parsed->stamp, parsed->sequence}].push_back(parsed->file_name);
    }
  }
  std::vector<std::string> doomed;
  auto excess = static_cast<std::ptrdiff_t>(rotations.size()) - retain;
  for (auto it = rotations.begin(); excess > 0; ++it, --excess) {
    doomed.insert(doomed.end(), it->second.begin(), it->second.end());
  }
  return doomed;
}

std::int64_t ms_until_next_local_midnight(std::int64_t wall_ms) {
  const std::time_t now = static_cast<std::time_t>(wall_ms / 1000);
  std::tm local{};
  if (::localtime_r(&now, &local) == nullptr) return 86400000;
  local.tm_mday += 1;
  local.tm_hour = 0;
  local.tm_min = 0;
  local.tm_sec = 0;
  local.tm_isdst = -1;  // let mktime decide across a DST change
  const std::time_t midnight = ::mktime(&local);
  const std::int64_t delta = static_cast<std::int64_t>(midnight) * 1000 - wall_ms;
  return std::max<std::int64_t>(delta, 1);
}

}  // namespace drove::logs
