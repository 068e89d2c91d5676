// Example helper: "--name value" options with defaults.
#pragma once

#include <cstdlib>
#include <string>
#include <thread>

namespace examples {

inline std::string option(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

inline int int_option(int argc, char** argv, const std::string& name, int fallback) {
  return std::atoi(option(argc, argv, name, std::to_string(fallback)).c_str());
}

// os.cpus().length, as the seeds use it.
inline int cpu_count() {
  const unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

}  // namespace examples
