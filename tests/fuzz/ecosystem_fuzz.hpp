// The part the two ecosystem fuzz targets (JSON, YAML) share: load a parsed document the way
// `drove start <file>` does (collect, lay CLI options over, normalise, check names), relative to
// the ecosystem fixtures so that scripts like "apps/server.js" resolve.
//
// Oracles: loading either succeeds or throws ConfigError (any other exception would reach the
// user as an internal error); every AppSpec it yields survives the JSON round trip the CLI ->
// daemon RPC and dump.json put it through.
#pragma once

#include <exception>
#include <string>

#include "config/ecosystem.hpp"
#include "fuzz_support.hpp"

namespace drove::fuzz {

inline const config::LoadContext& ecosystem_context() {
  static const config::LoadContext context = [] {
    config::LoadContext c;
    c.cwd = DROVE_FIXTURES_DIR "/ecosystem";
    c.shell_env = {{"PATH", "/usr/bin:/bin"}, {"HOME", "/root"}};
    c.cpu_count = 4;
    c.node_binary = "/nonexistent/node";  // never run for JSON/YAML; never run anything anyway
    return c;
  }();
  return context;
}

template <class Parse>
void load_ecosystem_text(const std::string& text, const char* display_name, Parse parse) {
  const auto& context = ecosystem_context();
  try {
    const config::Document doc = parse(text, display_name, context.cwd);
    const config::Loaded loaded = config::load_ecosystem_document(doc, nlohmann::json::object(), context);
    for (const auto& spec : loaded.apps) {
      const nlohmann::json encoded = spec;
      const auto decoded = encoded.get<drove::AppSpec>();
      const nlohmann::json again = decoded;
      check(encoded == again, "AppSpec changed through to_json/from_json");
    }
    for (const auto& w : loaded.warnings) (void)w.str();
  } catch (const config::ConfigError& e) {
    // One line, whatever it quotes (corpus/ecosystem_yaml/multiline-config-error.yml).
    check(std::string(e.what()).find('\n') == std::string::npos, "a ConfigError spans lines");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    fail("loading threw something other than ConfigError");
  }
}

}  // namespace drove::fuzz
