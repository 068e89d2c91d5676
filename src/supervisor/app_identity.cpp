// The user database half of running an app as its own user; see app_identity.hpp.
#include "supervisor/app_identity.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace drove::supervisor {
namespace {

bool all_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
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
    const passwd* pw = ::getpwnam(spec.uid->c_str());
    if (!pw && all_digits(*spec.uid)) pw = ::getpwuid(static_cast<uid_t>(std::stoul(*spec.uid)));
    if (!pw) return SysError{ENOENT, "unknown user '" + *spec.uid + "'"};
    identity.owner.uid = pw->pw_uid;
    identity.owner.gid = pw->pw_gid;
    identity.user_name = pw->pw_name;
    identity.home = pw->pw_dir;
    identity.shell = pw->pw_shell != nullptr && *pw->pw_shell != '\0' ? pw->pw_shell : "/bin/sh";
  }
  if (spec.gid) {
    const group* gr = ::getgrnam(spec.gid->c_str());
    if (!gr && all_digits(*spec.gid)) gr = ::getgrgid(static_cast<gid_t>(std::stoul(*spec.gid)));
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

}  // namespace drove::supervisor
