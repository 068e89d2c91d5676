// Fuzz target: YAML ecosystem files: yaml-cpp, the js-yaml-compatible scalar typing and the
// position marks, then the loader and normaliser. See ecosystem_fuzz.hpp for the oracles.
#include "config/yaml_document.hpp"
#include "ecosystem_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  drove::fuzz::load_ecosystem_text(text, "fuzz.yml", drove::config::parse_yaml_document);
  return 0;
}
