// The user database half of running an app as its own user; see app_identity.hpp.
#include "supervisor/app_identity.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <optional>

namespace drove::supervisor {
namespace {

// A numeric uid/gid: all digits, in range. std::stoul threw on "" and on 99999999999, and an
// exception here used to abort the daemon.
std::optional<std::uint32_t> numeric_id(const std::string& text) {
  std::uint32_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::vector<gid_t> groups_of(const char* user, gid_t primary) {
  int count = 32;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  while (::getgrouplist(user, primary, groups.data(), &count) < 0) groups.resize(static_cast<std::size_t>(count));
  groups.resize(static_cast<std::size_t>(count));
  return groups;
}

}  // namespace

Result<AppIdentity> resolve_app_identity(const AppSpec& spec) {
  AppIdentity identity;
  if (!spec.uid && !spec.gid) return identity;
  if (::geteuid() != 0) return SysError{EPERM, "uid/gid need the drove daemon to run as root"};
  if (spec.uid) {
    if (spec.uid->empty()) return SysError{EINVAL, "uid is empty"};
    const passwd* pw = ::getpwnam(spec.uid->c_str());
    if (const auto n = numeric_id(*spec.uid); !pw && n) pw = ::getpwuid(static_cast<uid_t>(*n));
    if (!pw) return SysError{ENOENT, "unknown user '" + *spec.uid + "'"};
    identity.owner.uid = pw->pw_uid;
    identity.owner.gid = pw->pw_gid;
    identity.user_name = pw->pw_name;
    identity.home = pw->pw_dir;
    identity.shell = pw->pw_shell != nullptr && *pw->pw_shell != '\0' ? pw->pw_shell : "/bin/sh";
  }
  if (spec.gid) {
    if (spec.gid->empty()) return SysError{EINVAL, "gid is empty"};
    const group* gr = ::getgrnam(spec.gid->c_str());
    if (const auto n = numeric_id(*spec.gid); !gr && n) gr = ::getgrgid(static_cast<gid_t>(*n));
    if (!gr) return SysError{ENOENT, "unknown group '" + *spec.gid + "'"};
    identity.owner.gid = gr->gr_gid;
  }
  if (!identity.user_name.empty()) {
    identity.owner.groups = groups_of(identity.user_name.c_str(), *identity.owner.gid);
  } else {
    identity.owner.groups = {*identity.owner.gid};
  }
  return identity;
}

Result<cluster::BindIdentity> bind_identity(const AppSpec& spec) {
  cluster::BindIdentity as;
  as.allow_privileged_ports = spec.allow_privileged_ports;
  auto identity = resolve_app_identity(spec);
  if (!identity.ok()) return identity.error();
  as.uid = identity.value().owner.uid;
  as.gid = identity.value().owner.gid;
  as.groups = identity.value().owner.groups;
  return as;
}

}  // namespace drove::supervisor
