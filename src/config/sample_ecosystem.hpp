// The ecosystem.config.js that `drove init` writes: a commented starting point, like PM2's.
#pragma once

#include <string>

#include "base/result.hpp"

namespace drove::config {

// The sample's text.
const std::string& sample_ecosystem_text();

// Writes the sample to `path`; refuses (EEXIST) to overwrite an existing file.
Status write_sample_ecosystem(const std::string& path);

}  // namespace drove::config
