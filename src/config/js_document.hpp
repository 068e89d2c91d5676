// JS ecosystem files (.js, .cjs, .mjs): evaluated by running node once — only node knows what
// `module.exports`, `export default`, require('os') or a template string produce — and read
// back as JSON. Positions are unknown (the values are computed); messages name the file, and
// the line when a JS exception's stack points into it.
#pragma once

#include <string>

#include "config/document.hpp"
#include "config/load_context.hpp"

namespace drove::config {

// `path` is the file as the user named it; it is resolved against context.cwd. Throws
// ConfigError when node is missing, the file throws, or its export is not JSON-serialisable.
Document evaluate_js_document(const std::string& path, const LoadContext& context);

}  // namespace drove::config
