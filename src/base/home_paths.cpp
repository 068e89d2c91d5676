#include "base/home_paths.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace drove {

HomeLayout resolve_home() {
  if (const char* env = std::getenv("DROVE_HOME"); env && *env) {
    std::string root = env;
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    return {root};
  }
  std::string home;
  if (const char* env = std::getenv("HOME"); env && *env)
    home = env;
  else if (const passwd* pw = ::getpwuid(::geteuid()))
    home = pw->pw_dir;
  else
    home = "/tmp";
  return {home + "/.drove"};
}

}  // namespace drove
