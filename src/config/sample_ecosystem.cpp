#include "config/sample_ecosystem.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "base/unique_fd.hpp"

namespace drove::config {

const std::string& sample_ecosystem_text() {
  static const std::string text =
      R"JS(// drove ecosystem file — `drove start` (or `drove start ecosystem.config.js`) starts these apps.
// Same format as PM2's: every PM2 app option works here. Docs: docs/ecosystem.md
module.exports = {
  apps: [
    {
      name: 'api',
      script: './server.js',
      // Node apps with several instances run in cluster mode: one port, connections spread
      // over the instances. 'max' = one per CPU.
      instances: 'max',
      exec_mode: 'cluster',
      // drove extension: how connections are spread (round-robin | shared | reuseport | least-connections)
      lb: 'round-robin',
      max_memory_restart: '500M',
      env: {
        NODE_ENV: 'development',
        PORT: 3000,
      },
      // `drove start ecosystem.config.js --env production` merges this over env.
      env_production: {
        NODE_ENV: 'production',
      },
    },
    {
      name: 'worker',
      script: './worker.py',   // interpreter chosen by extension: python3
      args: '--queue default',
      autorestart: true,
      restart_delay: '2s',
      cron_restart: '0 3 * * *',
      // drove extension: log rotation
      log_max_size: '10M',
      log_retain: 5,
    },
  ],
};
)JS";
  return text;
}

Status write_sample_ecosystem(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) return last_error("create " + path);
  const std::string& text = sample_ecosystem_text();
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return last_error("write " + path);
    written += static_cast<size_t>(n);
  }
  return Ok{};
}

}  // namespace drove::config
