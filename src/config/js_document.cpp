#include "config/js_document.hpp"

#include <filesystem>

#include "base/json_limits.hpp"
#include "process/run_capture.hpp"

namespace drove::config {
namespace {

// Everything the file prints stays off stdout except one marked line carrying the result, so
// a config that logs (PM2 configs often do) cannot corrupt it.
constexpr const char* kMarker = "@@drove-ecosystem@@";

constexpr const char* kEvaluator = R"JS(
const path = require('path');
const url = require('url');
const file = path.resolve(process.argv[1]);
const marker = process.argv[2];
const emit = (payload) => process.stdout.write('\n' + marker + JSON.stringify(payload) + '\n');
console.log = console.info = console.debug = console.error;
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const where = new RegExp('(?:' + escape(url.pathToFileURL(file).href) + '|' + escape(file) + '):(\\d+)(?::(\\d+))?');
const fail = (error) => {
  const isError = error instanceof Error;
  const text = isError ? `${error.name}: ${error.message}` : `thrown value: ${String(error)}`;
  const found = isError && error.stack ? where.exec(String(error.stack)) : null;
  emit({ error: text.split('\n')[0], line: found ? Number(found[1]) : 0, column: found && found[2] ? Number(found[2]) : 0 });
};
(async () => {
  const mod = await import(url.pathToFileURL(file).href);
  let value = 'default' in mod ? mod.default : { ...mod };
  if (typeof value === 'function') value = value();
  value = await value;
  const text = JSON.stringify(value, (key, v) =>
    v instanceof RegExp ? v.source : typeof v === 'bigint' ? Number(v) : v);
  emit({ config: text === undefined ? null : JSON.parse(text) });
})().catch(fail);
)JS";

std::string last_line(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r')) trimmed.pop_back();
  const auto newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

}  // namespace

Document evaluate_js_document(const std::string& path, const LoadContext& context) {
  namespace fs = std::filesystem;
  const fs::path absolute = fs::path(context.cwd) / path;
  Document doc;
  doc.display_name = path;
  doc.base_dir = absolute.parent_path().lexically_normal().string();
  const SourceLocation file_only{path, 0, 0};

  auto run = process::run_capture({context.node_binary, "-e", kEvaluator, absolute.string(), kMarker},
                                  context.shell_env, context.cwd, "", context.node_timeout_ms);
  if (!run) {
    if (run.error().code == ENOENT) {
      throw ConfigError(file_only, "node is required to load .js ecosystem files, but '" + context.node_binary +
                                       "' was not found in PATH");
    }
    throw ConfigError(file_only, "could not evaluate with node: " + run.error().message());
  }
  const auto marker_at = run->out.rfind(kMarker);
  if (marker_at == std::string::npos) {
    std::string why = run->signal != 0 ? "node was killed by signal " + std::to_string(run->signal)
                                       : "node exited with status " + std::to_string(run->exit_code);
    const std::string detail = last_line(run->err);
    throw ConfigError(file_only, why + " before producing the config" + (detail.empty() ? "" : ": " + detail));
  }
  const std::string payload_text = run->out.substr(marker_at + std::string(kMarker).size());
  std::string why;
  auto parsed = parse_json_bounded(std::string_view(payload_text).substr(0, payload_text.find('\n')), why);
  if (!parsed) throw ConfigError(file_only, "node returned unusable output: " + why);
  nlohmann::json payload = std::move(*parsed);
  if (!payload.is_object()) throw ConfigError(file_only, "node returned unusable output");
  if (payload.contains("error")) {
    throw ConfigError(SourceLocation{path, payload.value("line", 0), payload.value("column", 0)},
                      payload.value("error", std::string("error")));
  }
  doc.root = payload["config"];
  return doc;
}

}  // namespace drove::config
