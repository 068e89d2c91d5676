// `drove monit`: the terminal dashboard (ncurses); see monit.hpp.
#include "cli/monit.hpp"

#include <curses.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <clocale>
#include <csignal>
#include <cstring>
#include <map>
#include <string>

#include <fmt/format.h>

#include "base/clock.hpp"
#include "cli/client.hpp"
#include "cli/monit_model.hpp"
#include "cli/render.hpp"

namespace drove::cli {
namespace {

volatile std::sig_atomic_t g_quit = 0;

extern "C" void on_quit_signal(int /*signum*/) { g_quit = 1; }

// SIGTERM, SIGINT (Ctrl-C) and SIGHUP (the ssh session went away) end the loop, which then
// restores the terminal. No SA_RESTART: poll() returns at once.
void catch_quit_signals() {
  struct sigaction action {};
  action.sa_handler = on_quit_signal;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::sigaction(sig, &action, nullptr);
}

// Restores the terminal however the dashboard ends (an exception included).
struct Screen {
  Screen() {
    initscr();
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    if (has_colors()) {
      start_color();
      use_default_colors();
      init_pair(1, COLOR_GREEN, -1);
      init_pair(2, COLOR_RED, -1);
      init_pair(3, COLOR_YELLOW, -1);
      init_pair(4, COLOR_CYAN, -1);
    }
  }
  ~Screen() { endwin(); }
  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;
};

int status_colour(const std::string& status) {
  if (status == "online") return 1;
  if (status == "errored" || status == "stopped") return 2;
  return 3;
}

// Writes `text` at (y, x), cut to `width` columns (byte-wise: names and log lines are
// mostly ASCII; a cut multi-byte character shows as one replacement cell).
void put(int y, int x, const std::string& text, int width) {
  if (width <= 0 || y < 0 || y >= LINES) return;
  mvaddnstr(y, x, text.c_str(), std::min(static_cast<int>(text.size()), width));
}

class Monit {
 public:
  explicit Monit(const HomeLayout& home)
      : list_(Client::connect(home)), actions_(Client::connect(home)), logs_(Client::connect(home)) {
    logs_.call("subscribe", {{"logs", true}, {"filter", nlohmann::json::object()}});
    // The terminal's encoding, from the environment (as ncurses reads it): UTF-8 gets block
    // sparklines, anything else ASCII ones.
    const char* locale = std::setlocale(LC_ALL, "");
    ascii_ = locale == nullptr || std::string_view(locale).find("UTF-8") == std::string_view::npos;
  }

  int run() {
    Screen screen;
    std::int64_t next_refresh = 0;
    while (g_quit == 0) {
      const std::int64_t now = monotonic_ms();
      if (now >= next_refresh) {
        refresh_list();
        next_refresh = now + kRefreshMs;
      }
      draw();
      pollfd fds[3] = {{STDIN_FILENO, POLLIN, 0}, {logs_.fd(), POLLIN, 0}, {actions_.fd(), POLLIN, 0}};
      const int ready = ::poll(fds, 3, static_cast<int>(std::max<std::int64_t>(next_refresh - monotonic_ms(), 0)));
      if (ready < 0 && errno != EINTR) break;
      for (int key = getch(); key != ERR; key = getch()) {
        if (!on_key(key)) return 0;
      }
      while (auto message = logs_.poll_message()) model_.add_log(*message);
      while (auto message = actions_.poll_message()) on_action_reply(*message);
      if (logs_.eof() || actions_.eof()) throw UserError("the drove daemon closed the connection");
    }
    return 0;
  }

 private:
  static constexpr std::int64_t kRefreshMs = 1000;
  bool history_loaded_ = false;

  void refresh_list() {
    // The first list brings the daemon's last minutes of each instance, for full sparklines.
    model_.update(list_.call("list", history_loaded_ ? nlohmann::json::object() : nlohmann::json{{"history", true}}));
    history_loaded_ = true;
    if (daemon_.is_null()) daemon_ = list_.call("ping");
  }

  // False: quit.
  bool on_key(int key) {
    switch (key) {
      case 'q':
      case 'Q':
        return false;
      case KEY_UP:
      case 'k':
        model_.move_selection(-1);
        return true;
      case KEY_DOWN:
      case 'j':
        model_.move_selection(1);
        return true;
      case KEY_RESIZE:
        clear();
        return true;
      default:
        break;
    }
    if (auto action = model_.action_for_key(key)) {
      pending_[actions_.send(action->method, action->params)] = action->describe;
      status_ = action->describe + " ...";
    }
    return true;
  }

  void on_action_reply(const nlohmann::json& reply) {
    if (!reply.is_object() || !reply.contains("id") || !reply["id"].is_number_integer()) return;
    auto it = pending_.find(reply["id"].get<long>());
    if (it == pending_.end()) return;
    status_ = reply.contains("error") ? it->second + ": " + reply["error"].value("message", std::string("failed"))
                                      : it->second + ": done";
    pending_.erase(it);
  }

  void draw() {
    erase();
    const int cols = COLS;
    attron(A_REVERSE);
    put(0, 0,
        fmt::format(" drove monit | {} process(es) | daemon {} pid {} | up/down select  r restart  l reload  s stop  "
                    "S start  +/- scale  q quit{}",
                    model_.instances().size(), daemon_.value("version", "?"), daemon_.value("pid", 0),
                    std::string(static_cast<std::size_t>(std::max(cols, 0)), ' ')),
        cols);
    attroff(A_REVERSE);
    const int left = std::min(std::max(cols / 2, 40), cols);
    draw_list(left);
    draw_selected(left + 1, cols - left - 1);
    put(LINES - 1, 0, status_, cols);
    refresh();
  }

  void draw_list(int width) {
    attron(A_BOLD);
    put(1, 0,
        fmt::format("{:>3} {:<16} {:<9} {:>6} {:>8} {:>3}  cpu", "id", "name", "status", "cpu", "mem",
                    ascii_ ? "rst" : "↺"),
        width);
    attroff(A_BOLD);
    const auto& instances = model_.instances();
    for (std::size_t n = 0; n < instances.size() && static_cast<int>(n) + 2 < LINES - 1; ++n) {
      const auto& i = instances[n];
      const int y = static_cast<int>(n) + 2;
      if (n == model_.selected_index()) attron(A_REVERSE);
      put(y, 0, fmt::format("{:>3} {:<16.16} ", i.id, i.name), width);
      attron(COLOR_PAIR(status_colour(i.status)));
      put(y, 21, fmt::format("{:<9.9}", i.status), width - 21);
      attroff(COLOR_PAIR(status_colour(i.status)));
      const std::vector<double> cpu(i.cpu_history.begin(), i.cpu_history.end());
      put(y, 30, fmt::format(" {:>5.1f}% {:>8} {:>3}  ", i.cpu, format_bytes(i.memory), i.restarts), width - 30);
      put(y, 52, sparkline(cpu, static_cast<std::size_t>(std::max(width - 52, 0)), 100.0, ascii_), width - 52);
      if (n == model_.selected_index()) attroff(A_REVERSE);
    }
  }

  void draw_selected(int x, int width) {
    const MonitInstance* s = model_.selected();
    if (s == nullptr || width < 20) {
      put(2, x, "no app: drove start <script>", width);
      return;
    }
    const bool running = s->pid > 0 && s->started_at_ms > 0;
    attron(A_BOLD);
    put(1, x, fmt::format("{} (id {}, {})", s->name, s->id, s->exec_mode), width);
    attroff(A_BOLD);
    put(2, x,
        fmt::format("pid {}  {}  up {}  restarts {}  fds {}  threads {}", s->pid, s->status,
                    running ? format_uptime(wall_ms() - s->started_at_ms) : "-", s->restarts, s->fds, s->threads),
        width);
    const auto spark_width = static_cast<std::size_t>(std::max(width - 16, 0));
    const std::vector<double> cpu(s->cpu_history.begin(), s->cpu_history.end());
    std::vector<double> mem;
    for (auto m : s->mem_history) mem.push_back(static_cast<double>(m));
    attron(COLOR_PAIR(4));
    put(3, x, fmt::format("cpu {:>6.1f}%    {}", s->cpu, sparkline(cpu, spark_width, 100.0, ascii_)), width);
    put(4, x, fmt::format("mem {:>8}   {}", format_bytes(s->memory), sparkline(mem, spark_width, 0, ascii_)), width);
    attroff(COLOR_PAIR(4));
    // The app's own metrics (@pm2/io), one per row, as PM2's monit shows them.
    int row = 5;
    for (const auto& [name, value] : s->metrics) {
      if (row >= LINES / 2) break;
      put(row++, x, fmt::format("{}: {}", name, value), width);
    }
    attron(A_BOLD);
    put(row + 1, x, "logs", width);
    attroff(A_BOLD);
    const auto* lines = model_.logs_of_selected();
    const int first_row = row + 2;
    const int rows = LINES - 1 - first_row;
    if (lines == nullptr || rows <= 0) return;
    const auto shown = std::min(static_cast<std::size_t>(rows), lines->size());
    for (std::size_t n = 0; n < shown; ++n) {
      put(first_row + static_cast<int>(n), x, (*lines)[lines->size() - shown + n], width);
    }
  }

  Client list_;
  Client actions_;
  Client logs_;
  MonitModel model_;
  nlohmann::json daemon_;
  std::map<long, std::string> pending_;
  std::string status_ = "ready";
  bool ascii_ = false;
};

}  // namespace

int cmd_monit(const HomeLayout& home) {
  if (::isatty(STDIN_FILENO) != 1 || ::isatty(STDOUT_FILENO) != 1) {
    throw UserError("drove monit needs a terminal (use `drove list` or `drove jlist` in scripts)");
  }
  catch_quit_signals();
  Monit monit(home);
  return monit.run();
}

}  // namespace drove::cli
