// `drove logs`: the last lines of each log file (read directly: same user, no daemon round
// trip per line), then the live lines streamed by the daemon, prefixed `id|name |` like PM2,
// with a colour per app on a terminal.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <set>

#include "cli/client.hpp"
#include "cli/commands.hpp"
#include "logs/tail_lines.hpp"
#include "logs/timestamp_format.hpp"

namespace drove::cli {
namespace {

const char* const kPalette[] = {"\x1b[36m", "\x1b[32m", "\x1b[35m", "\x1b[33m",
                                "\x1b[34m", "\x1b[96m", "\x1b[92m", "\x1b[95m"};

struct Printer {
  const LogsOptions& options;
  bool colour;

  void line(int id, const std::string& name, bool is_err, const std::string& text, std::int64_t at_ms) const {
    if (options.json) {
      std::puts(nlohmann::json{
          {"id", id}, {"app_name", name}, {"type", is_err ? "err" : "out"}, {"message", text}, {"timestamp", at_ms}}
                    .dump()
                    .c_str());
      return;
    }
    std::string out;
    if (options.timestamp && at_ms > 0) {
      const std::string format = options.timestamp_format.empty() ? "YYYY-MM-DDTHH:mm:ss" : options.timestamp_format;
      out += logs::format_timestamp(format, at_ms, local_offset_minutes()) + " ";
    }
    if (!options.raw) {
      char prefix[128];
      std::snprintf(prefix, sizeof prefix, "%d|%-10s| ", id, name.c_str());
      if (colour)
        out += std::string(kPalette[static_cast<size_t>(id) % std::size(kPalette)]) + prefix + "\x1b[0m";
      else
        out += prefix;
    }
    std::string body = text;
    if (colour && is_err && !options.raw) body = "\x1b[31m" + body + "\x1b[0m";
    if (colour && !options.highlight.empty()) {
      for (size_t at = body.find(options.highlight); at != std::string::npos;
           at = body.find(options.highlight, at + options.highlight.size() + 11)) {
        body.replace(at, options.highlight.size(), "\x1b[1;43m" + options.highlight + "\x1b[0m");
      }
    }
    out += body;
    std::puts(out.c_str());
  }

  static int local_offset_minutes() {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    return static_cast<int>(local.tm_gmtoff / 60);
  }
};

}  // namespace

int cmd_logs(const HomeLayout& home, const LogsOptions& options) {
  Client client = Client::connect(home);
  const std::vector<std::string> targets = options.targets.empty() ? std::vector<std::string>{"all"} : options.targets;
  nlohmann::json processes = nlohmann::json::array();
  try {
    processes = client.call("describe", {{"targets", targets}});
  } catch (const UserError&) {
    if (!options.targets.empty()) throw;  // "all" with no app is fine: just stream
  }
  const Printer printer{options, ::isatty(STDOUT_FILENO) == 1};
  std::set<std::string> shown;
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& p : processes) {
    ids.push_back(p.value("id", 0));
    for (const bool is_err : {false, true}) {
      if ((is_err && options.out_only) || (!is_err && options.err_only) || options.lines == 0) continue;
      const std::string path = p.value(is_err ? "err_log_path" : "out_log_path", "");
      if (path.empty() || path == "/dev/null" || !shown.insert(path).second) continue;
      auto lines = logs::tail_lines(path, options.lines);
      if (!lines.ok()) continue;
      if (!options.raw && !options.json) std::printf("%s last %zu lines:\n", path.c_str(), options.lines);
      for (const auto& text : lines.value()) printer.line(p.value("id", 0), p.value("name", ""), is_err, text, 0);
    }
  }
  std::fflush(stdout);
  if (options.nostream) return 0;
  nlohmann::json filter = options.targets.empty() ? nlohmann::json::object() : nlohmann::json{{"ids", ids}};
  client.call("subscribe", {{"logs", true}, {"filter", filter}});
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  while (auto message = client.next_message()) {
    if (!message->is_object() || message->value("event", "") != "log") continue;
    const bool is_err = message->value("stream", "out") == "err";
    if ((is_err && options.out_only) || (!is_err && options.err_only)) continue;
    printer.line(message->value("id", 0), message->value("name", ""), is_err, message->value("text", ""),
                 message->value("at", std::int64_t{0}));
    // Whoever read our output went away (`drove logs | head`): SIGPIPE is ignored, so stop here.
    if (std::ferror(stdout)) return 0;
  }
  // The stream ended without us asking. The daemon either went away, or cut us off because we
  // let more than its per-subscriber limit of unsent lines pile up: say which.
  if (Client::connect_if_running(home)) {
    std::fprintf(stderr,
                 "[drove] the daemon cut this log stream off: it fell more than 16 MiB of log lines behind "
                 "(a slow terminal or pipe); lines were not lost from the log files, run `drove logs` again\n");
  } else {
    std::fprintf(stderr, "[drove] the log stream ended: the drove daemon stopped\n");
  }
  return 1;
}

}  // namespace drove::cli
