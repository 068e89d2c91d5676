// Compression of rotated logs with zlib; see gzip_file.hpp.
#include "logs/gzip_file.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <memory>
#include <vector>

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
  UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return last_error("open " + source);
  UniqueFd out(::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out) return last_error("create " + target);
  // gzdopen takes the descriptor over; gzclose closes it.
  GzOwner gz(gzdopen(out.release(), "wb6"));
  if (!gz) {
    ::unlink(target.c_str());
    return SysError{ENOMEM, "gzdopen " + target};
  }
  auto fail = [&](SysError error) -> Status {
    gz.reset();
    ::unlink(target.c_str());
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
    ::unlink(target.c_str());
    return SysError{EIO, "finish " + target};
  }
  if (::unlink(source.c_str()) != 0) return last_error("remove " + source);
  return Ok{};
}

}  // namespace drove::logs
