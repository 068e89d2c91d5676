// The web dashboard's files (src/web/assets/: the page, its script and its stylesheet), built
// into drove-web by cmake/embed_web_assets.cmake.
#pragma once

#include <span>
#include <string_view>

namespace drove::web {

struct Asset {
  std::string_view path;  // the URL path it is served at
  std::string_view content_type;
  std::string_view body;
};

std::span<const Asset> dashboard_assets();

}  // namespace drove::web
