// Fuzz target: JSON ecosystem files (and `drove start -` on stdin): the lenient JSON parser with
// its position pass, then the loader and normaliser. See ecosystem_fuzz.hpp for the oracles.
#include "config/json_document.hpp"
#include "ecosystem_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  drove::fuzz::load_ecosystem_text(text, "fuzz.json", drove::config::parse_json_document);
  return 0;
}
