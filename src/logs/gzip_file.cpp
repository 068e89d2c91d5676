// Compression of rotated logs with zlib; see gzip_file.hpp.
#include "logs/gzip_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <memory>
#include <vector>

#include "base/safe_file.hpp"
#include "base/unique_fd.hpp"

namespace drove::logs {
namespace {

struct GzCloser {
  void operator()(gzFile file) const noexcept { gzclose(file); }
};
using GzOwner = std::unique_ptr<gzFile_s, GzCloser>;

}  // namespace

Status gzip_file(const std::string& source) {
  const std::string target = source + ".gz";
  // Both by the directory's fd and without following links: a rotated name swapped for a link
  // to another file must neither be read (and published compressed) nor written through.
  auto parent = open_parent(source, false);
  if (!parent) return parent.error();
  const int dir = parent->dir.get();
  const std::string source_name = parent->name;
  const std::string target_name = source_name + ".gz";
  UniqueFd in(::openat(dir, source_name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!in) return last_error("open " + source);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return SysError{EINVAL, "compress " + source + ": not a regular file"};
  ::unlinkat(dir, target_name.c_str(), 0);  // a leftover of an interrupted compression
  UniqueFd out(::openat(dir, target_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!out) return last_error("create " + target);
  // gzdopen takes the descriptor over; gzclose closes it.
  GzOwner gz(gzdopen(out.release(), "wb6"));
  if (!gz) {
    ::unlinkat(dir, target_name.c_str(), 0);
    return SysError{ENOMEM, "gzdopen " + target};
  }
  auto fail = [&](SysError error) -> Status {
    gz.reset();
    ::unlinkat(dir, target_name.c_str(), 0);
    return error;
  };
  std::vector<char> buffer(std::size_t{256} << 10);
  for (;;) {
    const ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(last_error("read " + source));
    }
    if (n == 0) break;
    if (gzwrite(gz.get(), buffer.data(), static_cast<unsigned>(n)) != static_cast<int>(n)) {
      return fail(SysError{errno != 0 ? errno : EIO, "write " + target});
    }
  }
  if (gzclose(gz.release()) != Z_OK) {
    ::unlinkat(dir, target_name.c_str(), 0);
    return SysError{EIO, "finish " + target};
  }
  if (::unlinkat(dir, source_name.c_str(), 0) != 0) return last_error("remove " + source);
  return Ok{};
}

}  // namespace drove::logs
