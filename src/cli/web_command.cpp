// `drove web`: the web dashboard's URL, with the token that lets the page act
// (http://127.0.0.1:9615/#token=...). The token is in the fragment, which a browser never sends
// to a server or puts in a Referer: the page moves it to its tab's sessionStorage and out of the
// address bar (docs/monitoring.md, "Web dashboard").
#include <cstdio>
#include <fstream>
#include <string>

#include "cli/client.hpp"
#include "cli/commands.hpp"

namespace drove::cli {
namespace {

bool is_token(const std::string& text) {
  if (text.size() != 64) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

int cmd_web(const HomeLayout& home) {
  Client client = Client::connect(home);
  const auto ping = client.call("ping");
  const auto endpoint = ping.find("metrics_endpoint");
  if (endpoint == ping.end() || !endpoint->is_object()) {
    throw UserError(
        "the web dashboard is off: it is served on DROVE_METRICS_ADDR, set in the environment of the command that "
        "starts the daemon (drove kill; DROVE_METRICS_ADDR=127.0.0.1:9615 drove start ...)");
  }
  std::string address = endpoint->value("address", "");
  if (endpoint->value("pid", 0) == 0) {
    const auto last_exit = endpoint->value("last_exit", nlohmann::json());
    std::fprintf(stderr, "[drove] warning: drove-web is not running now (%s); see %s\n",
                 last_exit.is_string() ? last_exit.get<std::string>().c_str() : "starting again",
                 home.daemon_log().c_str());
  }
  // An endpoint on every address is reachable on loopback too: the URL a local browser can open.
  if (address.rfind("0.0.0.0:", 0) == 0) address = "127.0.0.1:" + address.substr(8);
  if (address.rfind("[::]:", 0) == 0) address = "[::1]:" + address.substr(5);

  std::ifstream file(home.web_token());
  std::string token;
  std::getline(file, token);
  if (!is_token(token)) {
    throw UserError("no dashboard token in " + home.web_token() + " (the daemon writes it when it starts drove-web; " +
                    home.daemon_log() + " says why it did not)");
  }
  std::printf("http://%s/#token=%s\n", address.c_str(), token.c_str());
  return 0;
}

}  // namespace drove::cli
