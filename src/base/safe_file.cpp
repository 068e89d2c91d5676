// Safe file primitives: symlink-aware walks, no-follow opens, atomic replacement, per-thread fs
// identity; see safe_file.hpp.
#include "base/safe_file.hpp"

#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

namespace drove {
namespace {

constexpr int kMaxSymlinkHops = 40;

uid_t current_fsuid() { return static_cast<uid_t>(::setfsuid(static_cast<uid_t>(-1))); }

// The rule of fs.protected_symlinks: a link may be followed by its owner, or when root made it.
bool trusted_link(const struct stat& st) { return st.st_uid == 0 || st.st_uid == current_fsuid(); }

Result<std::string> read_trusted_link(int dir, const std::string& name, const std::string& shown) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return last_error("inspect \"" + shown + "\"");
  if (!S_ISLNK(st.st_mode)) return SysError{ENOTDIR, "open \"" + shown + "\""};
  if (!trusted_link(st)) {
    return SysError{ELOOP, "refusing to follow symlink \"" + shown + "\" (owned by uid " + std::to_string(st.st_uid) +
                               ", neither root nor the file's user)"};
  }
  std::array<char, 4096> buffer{};
  const ssize_t n = ::readlinkat(dir, name.c_str(), buffer.data(), buffer.size() - 1);
  if (n < 0) return last_error("read symlink \"" + shown + "\"");
  return std::string(buffer.data(), static_cast<std::size_t>(n));
}

UniqueFd open_start(int base, const std::string& path) {
  if (!path.empty() && path.front() == '/') return UniqueFd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  return UniqueFd(::openat(base, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
}

std::vector<std::string> components_of(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    start = end + 1;
  }
  return parts;
}

// Opens directory `path` relative to `base` (AT_FDCWD or a directory fd), component by component.
Result<UniqueFd> walk(int base, const std::string& path, bool create, mode_t mode, int& hops,
                      const std::string& shown) {
  UniqueFd current = open_start(base, path);
  if (!current) return last_error("open \"" + shown + "\"");
  std::string walked = !path.empty() && path.front() == '/' ? "" : ".";
  for (const auto& part : components_of(path)) {
    walked += "/" + part;
    for (int attempt = 0;; ++attempt) {
      UniqueFd next(::openat(current.get(), part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (next) {
        current = std::move(next);
        break;
      }
      const int error = errno;
      if (error == ENOENT && create && attempt == 0) {
        if (::mkdirat(current.get(), part.c_str(), mode) != 0 && errno != EEXIST) {
          return last_error("create directory \"" + walked + "\" (in " + shown + ")");
        }
        continue;
      }
      if (error != ENOTDIR && error != ELOOP)
        return SysError{error, "open directory \"" + walked + "\" (in " + shown + ")"};
      auto target = read_trusted_link(current.get(), part, walked);
      if (!target) return target.error();
      if (++hops > kMaxSymlinkHops) return SysError{ELOOP, "open \"" + shown + "\""};
      auto resolved = walk(current.get(), *target, create, mode, hops, shown);
      if (!resolved) return resolved;
      current = std::move(resolved.value());
      break;
    }
  }
  return current;
}

Result<DirAndName> parent_from(int base, const std::string& path, bool create_dirs, mode_t dir_mode, int& hops) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  const auto slash = trimmed.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : trimmed.substr(0, slash));
  std::string name = slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") return SysError{EISDIR, "\"" + path + "\" names a directory"};
  auto dir_fd = walk(base, dir, create_dirs, dir_mode, hops, path);
  if (!dir_fd) return dir_fd.error();
  return DirAndName{std::move(dir_fd.value()), std::move(name)};
}

std::string unique_temp_name(const std::string& name) {
  std::uint64_t random = 0;
  if (::getrandom(&random, sizeof random, GRND_NONBLOCK) != sizeof random) {
    random = static_cast<std::uint64_t>(::getpid()) * 2654435761U ^ static_cast<std::uint64_t>(::time(nullptr));
  }
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "%012llx", static_cast<unsigned long long>(random & 0xffffffffffffULL));
  return "." + name + ".tmp-" + suffix;
}

Status write_all(int fd, std::string_view bytes, const std::string& shown) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error("write \"" + shown + "\"");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return Ok{};
}

}  // namespace

FsIdentity::FsIdentity(const FileOwner& owner) {
  if (owner.is_daemon() || ::geteuid() != 0) return;
  saved_uid_ = current_fsuid();
  saved_gid_ = static_cast<gid_t>(::setfsgid(static_cast<gid_t>(-1)));
  const int count = ::getgroups(0, nullptr);
  if (count > 0) {
    saved_groups_.resize(static_cast<std::size_t>(count));
    saved_groups_.resize(static_cast<std::size_t>(std::max(0, ::getgroups(count, saved_groups_.data()))));
  }
  std::vector<gid_t> groups = owner.groups;
  if (groups.empty() && owner.gid) groups.push_back(*owner.gid);
  // The raw system call: glibc's setgroups() changes every thread of the process, the kernel's
  // only the caller (like setfsuid/setfsgid), which is what a scope on a pool thread needs.
  ::syscall(SYS_setgroups, groups.size(), groups.data());
  if (owner.gid) ::setfsgid(*owner.gid);
  if (owner.uid) ::setfsuid(*owner.uid);
  switched_ = true;
}

FsIdentity::~FsIdentity() {
  if (!switched_) return;
  ::setfsuid(saved_uid_);
  ::setfsgid(saved_gid_);
  ::syscall(SYS_setgroups, saved_groups_.size(), saved_groups_.data());
}

bool is_special_file_path(const std::string& path) {
  if (path == "/dev" || path.rfind("/dev/", 0) == 0) return true;
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
}

Result<UniqueFd> open_directory(const std::string& dir, bool create, mode_t mode) {
  int hops = 0;
  return walk(AT_FDCWD, dir, create, mode, hops, dir);
}

Result<DirAndName> open_parent(const std::string& path, bool create_dirs, mode_t dir_mode) {
  int hops = 0;
  return parent_from(AT_FDCWD, path, create_dirs, dir_mode, hops);
}

Result<OpenedFile> open_for_append(const std::string& path, mode_t mode, mode_t dir_mode) {
  const bool special = is_special_file_path(path);
  int hops = 0;
  auto parent = parent_from(AT_FDCWD, path, !special, dir_mode, hops);
  if (!parent) return parent.error();
  UniqueFd dir = std::move(parent->dir);
  std::string name = std::move(parent->name);
  // O_NONBLOCK: a fifo without a reader must not hang the opener; cleared below.
  const int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
  OpenedFile opened;
  for (;;) {
    if (!special) {
      opened.fd = UniqueFd(::openat(dir.get(), name.c_str(), flags | O_CREAT | O_EXCL, mode));
      if (opened.fd) {
        opened.created = true;
        break;
      }
      if (errno != EEXIST) return last_error("create \"" + path + "\"");
    }
    opened.fd = UniqueFd(::openat(dir.get(), name.c_str(), flags));
    if (opened.fd) break;
    if (errno == ENOENT && !special) continue;  // removed between the two opens
    if (errno != ELOOP) return last_error("open \"" + path + "\"");
    auto target = read_trusted_link(dir.get(), name, path);
    if (!target) return target.error();
    if (++hops > kMaxSymlinkHops) return SysError{ELOOP, "open \"" + path + "\""};
    auto next = parent_from(dir.get(), *target, false, dir_mode, hops);
    if (!next) return next.error();
    dir = std::move(next->dir);
    name = std::move(next->name);
  }
  struct stat st {};
  if (::fstat(opened.fd.get(), &st) != 0) return last_error("stat \"" + path + "\"");
  opened.regular = S_ISREG(st.st_mode);
  if (opened.created) {
    if (::fchmod(opened.fd.get(), mode) != 0) return last_error("set the mode of \"" + path + "\"");
  } else if (opened.regular && st.st_nlink > 1 && st.st_uid != current_fsuid()) {
    // A hard link to someone else's file (possible where fs.protected_hardlinks=0).
    return SysError{EPERM, "refusing \"" + path + "\": a file with " + std::to_string(st.st_nlink) +
                               " links owned by uid " + std::to_string(st.st_uid)};
  }
  const int fl = ::fcntl(opened.fd.get(), F_GETFL);
  if (fl >= 0) ::fcntl(opened.fd.get(), F_SETFL, fl & ~O_NONBLOCK);
  opened.size = opened.regular ? static_cast<std::uint64_t>(st.st_size) : 0;
  return opened;
}

Status truncate_file(const std::string& path) {
  if (is_special_file_path(path)) return Ok{};
  auto parent = open_parent(path, false);
  if (!parent) return parent.error().code == ENOENT ? Status(Ok{}) : Status(parent.error());
  UniqueFd fd(
      ::openat(parent->dir.get(), parent->name.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT) return Ok{};
    if (errno == ELOOP) return SysError{ELOOP, "truncate \"" + path + "\": it is a symlink (not followed)"};
    return last_error("truncate \"" + path + "\"");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return last_error("stat \"" + path + "\"");
  if (!S_ISREG(st.st_mode)) return Ok{};
  if (st.st_nlink > 1 && st.st_uid != current_fsuid()) {
    return SysError{EPERM, "refusing to truncate \"" + path + "\": a file with several links owned by uid " +
                               std::to_string(st.st_uid)};
  }
  if (::ftruncate(fd.get(), 0) != 0) return last_error("truncate \"" + path + "\"");
  return Ok{};
}

Status write_file_atomically(const std::string& path, std::string_view content, mode_t mode, bool sync,
                             bool create_dirs) {
  auto parent = open_parent(path, create_dirs);
  if (!parent) return parent.error();
  const int dir = parent->dir.get();
  std::string temp;
  UniqueFd fd;
  for (int attempt = 0; attempt < 100 && !fd; ++attempt) {
    temp = unique_temp_name(parent->name);
    fd = UniqueFd(::openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!fd && errno != EEXIST) return last_error("create a temporary file for \"" + path + "\"");
  }
  if (!fd) return SysError{EEXIST, "create a temporary file for \"" + path + "\""};
  auto fail = [&](SysError error) -> Status {
    ::unlinkat(dir, temp.c_str(), 0);
    return error;
  };
  if (::fchmod(fd.get(), mode) != 0) return fail(last_error("set the mode of \"" + path + "\""));
  if (auto written = write_all(fd.get(), content, path); !written) return fail(written.error());
  if (sync && ::fsync(fd.get()) != 0) return fail(last_error("fsync \"" + path + "\""));
  fd.reset();
  // rename() replaces a symlink planted at `path` by the file itself; it never writes through it.
  if (::renameat(dir, temp.c_str(), dir, parent->name.c_str()) != 0)
    return fail(last_error("rename over \"" + path + "\""));
  if (sync) {
    UniqueFd readable(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!readable || ::fsync(readable.get()) != 0) return last_error("fsync the directory of \"" + path + "\"");
  }
  return Ok{};
}

Status remove_file(const std::string& path) {
  auto parent = open_parent(path, false);
  if (!parent) return parent.error().code == ENOENT ? Status(Ok{}) : Status(parent.error());
  if (::unlinkat(parent->dir.get(), parent->name.c_str(), 0) != 0 && errno != ENOENT)
    return last_error("remove \"" + path + "\"");
  return Ok{};
}

}  // namespace drove
