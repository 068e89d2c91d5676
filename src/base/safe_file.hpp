// Safe file primitives for every file the daemon opens on an app's behalf (log, pid, dump files).
//
// Why: the daemon usually runs as root while the directories it writes into may belong to other
// users (an app's user, or anyone in a world-writable directory). Opening such paths by name lets
// whoever controls a directory redirect root's writes with a symlink or a hard link. So:
//  - paths are walked one component at a time with openat(O_NOFOLLOW|O_DIRECTORY); a symlink is
//    followed only when it is owned by root or by the user the operation runs as (the rule of
//    fs.protected_symlinks, applied everywhere, not only in sticky directories); missing
//    directories are created with mkdirat on the way;
//  - the file itself is opened relative to its directory's fd with O_NOFOLLOW|O_CLOEXEC and an
//    explicit mode; a reused file with several links that belongs to someone else is refused;
//  - paths under /dev/ (and any existing non-regular file) are never created;
//  - whole-file writes go to a uniquely named temporary file in the same directory (O_EXCL),
//    renamed over the target by directory fd.
// FsIdentity makes the calling thread's file-system ids (setfsuid/setfsgid and its
// supplementary groups, all per thread on Linux) those of an app for a scope, so the kernel
// checks the app's rights, not root's.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace drove {

// Whose rights a file operation uses. Empty: the daemon's own.
struct FileOwner {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::vector<gid_t> groups;  // supplementary groups (used only with uid or gid)

  [[nodiscard]] bool is_daemon() const noexcept { return !uid && !gid; }
};

// Switches the calling thread's fs uid/gid and supplementary groups to `owner` (when it is not
// the daemon's and the daemon is root) and restores them on destruction. Not movable: it must
// end on the thread that began it.
class FsIdentity {
 public:
  explicit FsIdentity(const FileOwner& owner);
  ~FsIdentity();
  FsIdentity(const FsIdentity&) = delete;
  FsIdentity& operator=(const FsIdentity&) = delete;

 private:
  bool switched_ = false;
  uid_t saved_uid_ = 0;
  gid_t saved_gid_ = 0;
  std::vector<gid_t> saved_groups_;
};

// True for paths that name devices (under /dev/) or an existing non-regular file: such paths get
// no per-instance suffix and are never created.
bool is_special_file_path(const std::string& path);

// Opens directory `dir` (O_DIRECTORY|O_CLOEXEC) by the walk described above; `create` makes the
// missing components with `mode`.
Result<UniqueFd> open_directory(const std::string& dir, bool create, mode_t mode = 0755);

struct DirAndName {
  UniqueFd dir;
  std::string name;  // the last component, never empty, never "." or ".."
};
// The directory holding `path` (opened as open_directory does) and the file's name in it.
Result<DirAndName> open_parent(const std::string& path, bool create_dirs, mode_t dir_mode = 0755);

struct OpenedFile {
  UniqueFd fd;
  bool regular = false;  // false: a device, fifo, socket...
  bool created = false;
  std::uint64_t size = 0;
};
// Opens `path` for appending (O_WRONLY|O_APPEND), creating it and its directories with the
// given modes unless it is special (is_special_file_path). Symlinks as above; a reused regular
// file with more than one link not owned by the caller's fs uid is refused (EPERM).
Result<OpenedFile> open_for_append(const std::string& path, mode_t mode = 0644, mode_t dir_mode = 0755);

// Truncates an existing regular file found by the safe walk (missing: Ok). Never creates.
Status truncate_file(const std::string& path);

// Replaces `path` with `content`: a unique temporary file in the same directory (O_EXCL, `mode`),
// fsync'd when `sync`, renamed over `path`. The temporary file never outlives a failure.
Status write_file_atomically(const std::string& path, std::string_view content, mode_t mode, bool sync,
                             bool create_dirs = true);

// Unlinks `path` (found by the safe walk; unlink never follows the last component). Missing: Ok.
Status remove_file(const std::string& path);

}  // namespace drove
