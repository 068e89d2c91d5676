// Blocking file operations of a log file; see file_sink.hpp.
#include "logs/file_sink.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "logs/timestamp_format.hpp"

namespace drove::logs {
namespace {

struct DirCloser {
  void operator()(DIR* dir) const noexcept { ::closedir(dir); }
};

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string file_name_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// rename() that never replaces an existing file (a same-second rotation must not clobber the
// previous one).
int rename_no_replace(const std::string& from, const std::string& to) {
  const int rc = ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
  if (rc == 0 || (errno != EINVAL && errno != ENOSYS)) return rc;
  // The file system cannot do it atomically; we are the only writer of these names anyway.
  struct stat st {};
  if (::lstat(to.c_str(), &st) == 0) {
    errno = EEXIST;
    return -1;
  }
  return ::rename(from.c_str(), to.c_str());
}

}  // namespace

Status make_directories(const std::string& dir) {
  if (dir.empty()) return Ok{};
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Ok{};
    return SysError{ENOTDIR, "create directory " + dir};
  }
  const std::string parent = parent_of(dir);
  if (parent != dir) {
    if (auto status = make_directories(parent); !status) return status;
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return last_error("create directory " + dir);
  return Ok{};
}

FileSink::FileSink(std::string path, RotationPolicy rotation)
    : path_(std::move(path)), rotation_(rotation) {}

Status FileSink::open() {
  fd_.reset();
  if (auto dirs = make_directories(parent_of(path_)); !dirs) {
    // Name the log file, not only the directory: that is what the user configured.
    return SysError{dirs.error().code, "open log file " + path_ + ": " + dirs.error().context};
  }
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return last_error("open log file " + path_);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return last_error("stat log file " + path_);
  regular_ = S_ISREG(st.st_mode);
  size_ = regular_ ? static_cast<std::uint64_t>(st.st_size) : 0;
  fd_ = std::move(fd);
  return Ok{};
}

Status FileSink::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error("write log file " + path_);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    size_ += static_cast<std::uint64_t>(n);
  }
  return Ok{};
}

Status FileSink::rotate(std::int64_t wall_ms, SinkOutcome& outcome) {
  const int offset = local_utc_offset_minutes(wall_ms);
  // Within one second, sequences only grow: a name freed by pruning or compression must not be
  // reused, or a newer rotation would sort before an older one.
  const std::int64_t second = wall_ms / 1000;
  int sequence = second == last_rotation_second_ ? last_sequence_ + 1 : 0;
  std::string target;
  for (;; ++sequence) {
    target = rotated_path(path_, wall_ms, offset, sequence);
    struct stat st {};
    if (::lstat((target + ".gz").c_str(), &st) == 0) continue;
    if (rename_no_replace(path_, target) == 0) break;
    if (errno != EEXIST || sequence > 1000000) return last_error("rotate " + path_ + " to " + target);
  }
  last_rotation_second_ = second;
  last_sequence_ = sequence;
  outcome.rotated_paths.push_back(target);
  if (auto reopened = open(); !reopened) return reopened;
  if (!rotation_.compress) {
    if (auto pruned = prune_rotated(); !pruned) return pruned;
  }
  return Ok{};
}

Status FileSink::prune_rotated() const {
  if (rotation_.retain <= 0) return Ok{};
  const std::string dir = parent_of(path_);
  std::unique_ptr<DIR, DirCloser> listing(::opendir(dir.c_str()));
  if (!listing) return last_error("list " + dir);
  std::vector<std::string> entries;
  while (const dirent* entry = ::readdir(listing.get())) entries.emplace_back(entry->d_name);
  for (const auto& name : rotated_files_to_delete(file_name_of(path_), entries, rotation_.retain)) {
    const std::string victim = dir + "/" + name;
    if (::unlink(victim.c_str()) != 0 && errno != ENOENT) return last_error("remove " + victim);
  }
  return Ok{};
}

SinkOutcome FileSink::run(const SinkRequest& request) {
  SinkOutcome outcome;
  auto fail = [&](const Status& status, std::string_view unwritten) {
    outcome.error = status.error();
    outcome.bytes_dropped += unwritten.size();
  };
  std::string_view remaining = request.bytes;

  if (request.reopen || !fd_) {
    if (auto opened = open(); !opened) {
      fail(opened, remaining);
      return outcome;
    }
  }
  if (request.truncate && regular_) {
    if (::ftruncate(fd_.get(), 0) != 0) outcome.error = last_error("truncate " + path_);
    else size_ = 0;
  }
  bool can_rotate = regular_ && rotation_.enabled();
  if (request.rotate && can_rotate && size_ > 0) {
    if (auto rotated = rotate(request.wall_ms, outcome); !rotated) {
      outcome.error = rotated.error();
      can_rotate = false;
      if (!fd_) {
        fail(rotated, remaining);
        return outcome;
      }
    }
  }

  while (!remaining.empty()) {
    std::size_t cut = remaining.size();
    if (can_rotate && rotation_.max_size_bytes > 0 && size_ + cut > rotation_.max_size_bytes) {
      // Write whole lines up to the limit; a line never straddles two files.
      const std::uint64_t room = rotation_.max_size_bytes > size_ ? rotation_.max_size_bytes - size_ : 0;
      const void* last_nl = room == 0 ? nullptr : ::memrchr(remaining.data(), '\n', room);
      if (last_nl != nullptr) {
        cut = static_cast<std::size_t>(static_cast<const char*>(last_nl) - remaining.data()) + 1;
      } else if (size_ > 0) {
        if (auto rotated = rotate(request.wall_ms, outcome); !rotated) {
          outcome.error = rotated.error();
          can_rotate = false;  // keep writing to the file we have rather than looping
          if (!fd_) {
            fail(rotated, remaining);
            return outcome;
          }
        }
        continue;
      } else {
        // One line longer than the limit: it gets a file of its own.
        const void* nl = std::memchr(remaining.data(), '\n', remaining.size());
        if (nl != nullptr) cut = static_cast<std::size_t>(static_cast<const char*>(nl) - remaining.data()) + 1;
      }
    }
    const std::string_view piece = remaining.substr(0, cut);
    const std::uint64_t before = size_;
    if (auto written = write_all(piece); !written) {
      const auto done = static_cast<std::size_t>(size_ - before);
      outcome.bytes_written += done;
      outcome.lines_written += static_cast<std::uint64_t>(std::count(piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(done), '\n'));
      fail(written, remaining.substr(done));
      // A descriptor that went bad (EBADF, EIO on a vanished device) is reopened next time;
      // ENOSPC keeps it, the disk may free up.
      if (outcome.error->code != ENOSPC && outcome.error->code != EDQUOT) fd_.reset();
      return outcome;
    }
    outcome.bytes_written += piece.size();
    outcome.lines_written += static_cast<std::uint64_t>(std::count(piece.begin(), piece.end(), '\n'));
    remaining.remove_prefix(cut);
  }
  return outcome;
}

}  // namespace drove::logs
