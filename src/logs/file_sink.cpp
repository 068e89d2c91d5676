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
// Both names are in `dir` (opened by the safe walk), so a swapped parent cannot redirect it.
int rename_no_replace(int dir, const std::string& from, const std::string& to) {
  const int rc = ::renameat2(dir, from.c_str(), dir, to.c_str(), RENAME_NOREPLACE);
  if (rc == 0 || (errno != EINVAL && errno != ENOSYS)) return rc;
  // The file system cannot do it atomically; we are the only writer of these names anyway.
  struct stat st {};
  if (::fstatat(dir, to.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    errno = EEXIST;
    return -1;
  }
  return ::renameat(dir, from.c_str(), dir, to.c_str());
}

// Reads and forgets `size` bytes at the head of a pipe (bytes a request could not write: they are
// dropped, and must not be read again). Stops early if the pipe has fewer.
void discard_from_pipe(int source, std::size_t size) {
  char sink[8192];
  while (size > 0) {
    const ssize_t n = ::read(source, sink, std::min(size, sizeof sink));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

Status make_directories(const std::string& dir) {
  if (dir.empty()) return Ok{};
  auto opened = open_directory(dir, true);
  if (!opened) return opened.error();
  return Ok{};
}

FileSink::FileSink(std::string path, RotationPolicy rotation, FileOwner owner)
    : path_(std::move(path)), rotation_(rotation), owner_(std::move(owner)) {}

Status FileSink::open() {
  const FsIdentity as_owner(owner_);
  return open_as_owner();
}

Status FileSink::open_as_owner() {
  fd_.reset();
  auto opened = open_for_append(path_, 0644, 0755);
  if (!opened) {
    // Name the log file, not only the step: that is what the user configured.
    return SysError{opened.error().code, "open log file " + path_ + ": " + opened.error().context};
  }
  regular_ = opened->regular;
  size_ = opened->size;
  fd_ = std::move(opened->fd);
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

Status FileSink::splice_all(int source, std::string_view copy, std::size_t& taken) {
  if (copy.empty()) return Ok{};
  // splice(2) refuses a file opened for appending: for the call, an explicit offset at the end
  // of the file does the same (the file's size, not our count: `drove flush` or an external
  // copytruncate may have shrunk it).
  // Only into a regular file: a fifo that is full makes splice fail with EAGAIN (our pipe is
  // non-blocking), which would tell nothing about the bytes; there the copy is written instead.
  const int flags = regular_ ? ::fcntl(fd_.get(), F_GETFL) : -1;
  bool unsupported = flags < 0 || ::fcntl(fd_.get(), F_SETFL, flags & ~O_APPEND) != 0;
  loff_t offset = 0;
  if (!unsupported) {
    struct stat st {};
    if (::fstat(fd_.get(), &st) == 0)
      offset = st.st_size;
    else
      unsupported = true;
  }
  std::size_t done = 0;
  Status status = Ok{};
  while (!unsupported && done < copy.size()) {
    const ssize_t n = ::splice(source, nullptr, fd_.get(), &offset, copy.size() - done, 0);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      size_ += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
      unsupported = true;  // a destination splice cannot write to: write the copy instead
    } else if (n == 0 || errno == EAGAIN) {
      // The pipe no longer has them (nobody else reads it; defensive): write the copy, and take
      // nothing more from the pipe, which would be somebody else's bytes.
      unsupported = true;
      taken += copy.size() - done;
    } else {
      status = last_error("write log file " + path_);
    }
    break;
  }
  if (flags >= 0) (void)::fcntl(fd_.get(), F_SETFL, flags);
  taken += done;
  if (unsupported && status) status = write_all(copy.substr(done));
  return status;
}

Status FileSink::write_piece(const SinkRequest& request, std::size_t offset, std::string_view piece) {
  const std::size_t end = offset + piece.size();
  std::size_t at = offset;
  for (std::size_t i = 0; i < request.splices.size() && at < end; ++i) {
    const SpliceRange& range = request.splices[i];
    if (range.begin + range.size <= at) continue;
    if (range.begin >= end) break;
    if (range.begin > at) {
      if (auto written = write_all(request.bytes.substr(at, range.begin - at)); !written) return written;
      at = range.begin;
    }
    const std::size_t stop = std::min(end, range.begin + range.size);
    if (Status moved = splice_all(range.source, request.bytes.substr(at, stop - at), spliced_[i]); !moved) return moved;
    at = stop;
  }
  if (at < end) return write_all(request.bytes.substr(at, end - at));
  return Ok{};
}

Status FileSink::rotate(std::int64_t wall_ms, SinkOutcome& outcome) {
  const int offset = local_utc_offset_minutes(wall_ms);
  // Within one second, sequences only grow: a name freed by pruning or compression must not be
  // reused, or a newer rotation would sort before an older one.
  const std::int64_t second = wall_ms / 1000;
  int sequence = second == last_rotation_second_ ? last_sequence_ + 1 : 0;
  std::string target;
  auto dir = open_directory(parent_of(path_), false);
  if (!dir) return dir.error();
  const std::string name = file_name_of(path_);
  for (;; ++sequence) {
    target = rotated_path(path_, wall_ms, offset, sequence);
    const std::string target_name = file_name_of(target);
    struct stat st {};
    if (::fstatat(dir->get(), (target_name + ".gz").c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) continue;
    if (rename_no_replace(dir->get(), name, target_name) == 0) break;
    if (errno != EEXIST || sequence > 1000000) return last_error("rotate " + path_ + " to " + target);
  }
  last_rotation_second_ = second;
  last_sequence_ = sequence;
  outcome.rotated_paths.push_back(target);
  if (auto reopened = open_as_owner(); !reopened) return reopened;
  if (!rotation_.compress) {
    if (auto pruned = prune_as_owner(); !pruned) return pruned;
  }
  return Ok{};
}

Status FileSink::prune_rotated() const {
  const FsIdentity as_owner(owner_);
  return prune_as_owner();
}

Status FileSink::prune_as_owner() const {
  if (rotation_.retain <= 0) return Ok{};
  const std::string dir = parent_of(path_);
  auto dir_fd = open_directory(dir, false);
  if (!dir_fd) return dir_fd.error();
  UniqueFd readable(::openat(dir_fd->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!readable) return last_error("list " + dir);
  std::unique_ptr<DIR, DirCloser> listing(::fdopendir(readable.get()));
  if (!listing) return last_error("list " + dir);
  (void)readable.release();  // the DIR owns it now
  std::vector<std::string> entries;
  while (const dirent* entry = ::readdir(listing.get())) entries.emplace_back(entry->d_name);
  for (const auto& name : rotated_files_to_delete(file_name_of(path_), entries, rotation_.retain)) {
    if (::unlinkat(dir_fd->get(), name.c_str(), 0) != 0 && errno != ENOENT)
      return last_error(std::string("remove ").append(dir).append("/").append(name));
  }
  return Ok{};
}

SinkOutcome FileSink::run(const SinkRequest& request) {
  const FsIdentity as_owner(owner_);
  spliced_.assign(request.splices.size(), 0);
  SinkOutcome outcome = run_as_owner(request);
  // Bytes the request could not write are dropped (and counted); those still in a pipe must
  // leave it too, or their stream would read them again.
  for (std::size_t i = 0; i < request.splices.size(); ++i) {
    const SpliceRange& range = request.splices[i];
    if (spliced_[i] < range.size) discard_from_pipe(range.source, range.size - spliced_[i]);
  }
  return outcome;
}

SinkOutcome FileSink::run_as_owner(const SinkRequest& request) {
  SinkOutcome outcome;
  auto fail = [&](const Status& status, std::string_view unwritten) {
    outcome.error = status.error();
    outcome.bytes_dropped += unwritten.size();
  };
  std::string_view remaining = request.bytes;

  if (request.reopen || !fd_) {
    if (auto opened = open_as_owner(); !opened) {
      fail(opened, remaining);
      return outcome;
    }
  }
  if (request.truncate && regular_) {
    if (::ftruncate(fd_.get(), 0) != 0)
      outcome.error = last_error("truncate " + path_);
    else
      size_ = 0;
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
    const auto offset = static_cast<std::size_t>(remaining.data() - request.bytes.data());
    if (auto written = write_piece(request, offset, piece); !written) {
      const auto done = static_cast<std::size_t>(size_ - before);
      outcome.bytes_written += done;
      outcome.lines_written += static_cast<std::uint64_t>(
          std::count(piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(done), '\n'));
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
