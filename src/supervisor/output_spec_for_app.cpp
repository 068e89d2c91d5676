// AppSpec log options to an OutputSpec; see output_spec_for_app.hpp.
#include "supervisor/output_spec_for_app.hpp"

#include <cctype>

#include "base/safe_file.hpp"

namespace drove::supervisor {
namespace {

std::string file_safe(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  }
  return out;
}

}  // namespace

std::string with_instance_suffix(const std::string& path, int instance_id) {
  // A device or fifo is one file for every instance: "/dev/full-0" would be a new regular file.
  if (path.empty() || is_special_file_path(path)) return path;
  const auto slash = path.rfind('/');
  const auto dot = path.rfind('.');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1);
  const std::string suffix = "-" + std::to_string(instance_id);
  return has_ext ? path.substr(0, dot) + suffix + path.substr(dot) : path + suffix;
}

logs::OutputSpec output_spec_for(const AppSpec& app, int instance_id, const std::string& logs_dir) {
  const std::string base = logs_dir + "/" + file_safe(app.name);
  auto resolve = [&](const std::string& configured, const char* default_suffix) {
    if (configured.empty() && logs_dir.empty()) return std::string();  // no default files
    const std::string path = configured.empty() ? base + default_suffix : configured;
    return app.merge_logs ? path : with_instance_suffix(path, instance_id);
  };
  logs::OutputSpec spec;
  spec.app_name = app.name;
  spec.instance_id = instance_id;
  spec.out_path = resolve(app.out_file, "-out.log");
  spec.err_path = resolve(app.error_file, "-error.log");
  spec.combined_path = app.log_file.empty() ? "" : resolve(app.log_file, "");
  spec.disable = app.disable_logs;
  spec.time = app.time;
  spec.date_format = app.log_date_format;
  spec.json = app.log_type == LogType::json;
  spec.rotation =
      logs::RotationPolicy{.max_size_bytes = static_cast<std::uint64_t>(app.log_max_size > 0 ? app.log_max_size : 0),
                           .daily = app.log_rotate_daily,
                           .retain = app.log_retain,
                           .compress = app.log_compress};
  return spec;
}

}  // namespace drove::supervisor
