#include "supervisor/app_identity.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <optional>

namespace drove::supervisor {
namespace {

std::optional<unsigned> whole_number(const std::string& text) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

Result<cluster::BindIdentity> bind_identity(const AppSpec& spec) {
  cluster::BindIdentity as;
  as.allow_privileged_ports = spec.allow_privileged_ports;
  if (!spec.uid && !spec.gid) return as;
  if (::geteuid() != 0) return SysError{EPERM, "uid/gid need the drove daemon to run as root"};
  if (spec.uid) {
    const passwd* pw = ::getpwnam(spec.uid->c_str());
    if (pw == nullptr) {
      if (auto number = whole_number(*spec.uid)) pw = ::getpwuid(static_cast<uid_t>(*number));
    }
    if (pw == nullptr) return SysError{ENOENT, "unknown user '" + *spec.uid + "'"};
    as.uid = pw->pw_uid;
    as.gid = pw->pw_gid;
  }
  if (spec.gid) {
    const group* gr = ::getgrnam(spec.gid->c_str());
    if (gr == nullptr) {
      if (auto number = whole_number(*spec.gid)) gr = ::getgrgid(static_cast<gid_t>(*number));
    }
    if (gr == nullptr) return SysError{ENOENT, "unknown group '" + *spec.gid + "'"};
    as.gid = gr->gr_gid;
  }
  // Exactly the groups spawn() gives the app today (setgroups to its one group): never more
  // rights than the app itself has. When apps get initgroups, this follows.
  as.groups = {*as.gid};
  return as;
}

}  // namespace drove::supervisor
