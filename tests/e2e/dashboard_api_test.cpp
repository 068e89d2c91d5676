// The web dashboard's HTTP side (drove-web, DROVE_METRICS_ADDR), without a browser
// (tests/browser/dashboard_test.js drives the page itself): the token the daemon writes and
// `drove web` prints; actions refused without it, with a wrong one, from another Host or Origin,
// or with a body that asks for more than an action (the pid unchanged), and carried out with
// it; live log lines over Server-Sent Events, at most four streams at once, and a client that
// leaves ends the daemon's log subscription.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"
#include "harness.hpp"

namespace drove::e2e {
namespace {

std::string request(int port, const std::string& method, const std::string& path,
                    const std::vector<std::string>& headers = {}, const std::string& body = "") {
  std::string text = method + " " + path + " HTTP/1.1\r\n";
  bool has_host = false;
  for (const auto& h : headers) {
    text += h + "\r\n";
    has_host = has_host || h.rfind("Host:", 0) == 0;
  }
  if (!has_host) text += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  if (!body.empty()) text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  text += "Connection: close\r\n\r\n" + body;
  return http_exchange(port, text);
}

std::string action(int port, const std::string& body, const std::vector<std::string>& headers) {
  return request(port, "POST", "/api/action", headers, body);
}

pid_t pid_of(const DroveHome& home, int id) {
  for (const auto& p : home.jlist()) {
    if (p.value("pm_id", -1) == id) return p.value("pid", 0);
  }
  return 0;
}

nlohmann::json ping(const DroveHome& home) {
  const auto r = home.drove({"ping"});
  return nlohmann::json::parse(r.out.substr(r.out.find('{')), nullptr, false);
}

// One open GET /api/logs: the response read as it comes.
class LogStream {
 public:
  LogStream(int port, const std::string& token, const std::string& app) {
    fd_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    const std::string text = "GET /api/logs?app=" + app + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                             "\r\nAuthorization: Bearer " + token + "\r\nAccept-Encoding: gzip, br\r\n\r\n";
    if (::write(fd_.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) fd_.reset();
  }
  // Reads until `text` has come (true) or `timeout` passed.
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(text) == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !fd_) return false;
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
      if (n <= 0) return received_.find(text) != std::string::npos;
      received_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  void close() { fd_.reset(); }
  [[nodiscard]] const std::string& received() const { return received_; }

 private:
  UniqueFd fd_;
  std::string received_;
};

struct Dashboard {
  DroveHome home;
  int port = free_tcp_port();
  int app_port = free_tcp_port();
  std::string token;

  // A 2-instance cluster app printing a line per /slow request, and the endpoint serving.
  void start() {
    ASSERT_EQ(home.start_web(app_port, {{"DROVE_METRICS_ADDR", "127.0.0.1:" + std::to_string(port)}, {"SLOW_MS", "1"}})
                  .size(),
              2u);
    ASSERT_TRUE(wait_until([&] { return status_is(http_get(port, "/healthz"), 200); }));
    token = read_file(home.path() + "/web.token");
    ASSERT_EQ(token.size(), 65u) << token;
    token.pop_back();
  }
};

TEST(DashboardApi, ActionsNeedTheTokenFromTheHomeAndTheEndpointsOwnHostAndOrigin) {
  Dashboard d;
  ASSERT_NO_FATAL_FAILURE(d.start());
  struct stat st {};
  ASSERT_EQ(::stat((d.home.path() + "/web.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto url = d.home.drove({"web"});
  ASSERT_EQ(url.exit_code, 0) << url.err;
  EXPECT_EQ(url.out, "http://127.0.0.1:" + std::to_string(d.port) + "/#token=" + d.token + "\n");

  // The page and its files, from drove-web itself, under a policy that allows nothing else.
  const std::string page = request(d.port, "GET", "/");
  ASSERT_TRUE(status_is(page, 200)) << page;
  EXPECT_NE(page.find("<script src=\"/dashboard.js\""), std::string::npos);
  EXPECT_NE(page.find("Content-Security-Policy: default-src 'none'; script-src 'self'"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_TRUE(status_is(request(d.port, "GET", "/dashboard.js"), 200));
  EXPECT_TRUE(status_is(request(d.port, "GET", "/dashboard.css"), 200));

  // The list: no token needed (the figures /metrics already serves), the pids of jlist.
  const auto list = nlohmann::json::parse(body_of(request(d.port, "GET", "/api/list")), nullptr, false);
  ASSERT_TRUE(list.is_array()) << list;
  ASSERT_EQ(list.size(), 2u);
  for (const auto& p : list) EXPECT_EQ(p.value("pid", 0), pid_of(d.home, p.value("id", -1))) << p;
  // DNS rebinding: the same request under a name is refused.
  EXPECT_TRUE(status_is(request(d.port, "GET", "/api/list", {"Host: evil.example:" + std::to_string(d.port)}), 403));

  const pid_t before = pid_of(d.home, 0);
  const pid_t other = pid_of(d.home, 1);
  const std::string restart = R"({"action":"restart","target":0})";
  const std::string bearer = "Authorization: Bearer " + d.token;
  const std::string json = "Content-Type: application/json";
  const std::string no_token = action(d.port, restart, {json});
  EXPECT_TRUE(status_is(no_token, 401)) << no_token;
  EXPECT_NE(no_token.find("WWW-Authenticate: Bearer"), std::string::npos);
  std::string wrong = d.token;
  wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
  EXPECT_TRUE(status_is(action(d.port, restart, {json, "Authorization: Bearer " + wrong}), 403));
  EXPECT_TRUE(status_is(action(d.port, restart, {json, bearer, "Host: evil.example:" + std::to_string(d.port)}), 403));
  EXPECT_TRUE(status_is(action(d.port, restart, {json, bearer, "Origin: http://evil.example"}), 403));
  // A form's content type (what a cross-site <form> can send without a preflight).
  EXPECT_TRUE(status_is(action(d.port, restart, {"Content-Type: text/plain", bearer}), 415));
  EXPECT_TRUE(status_is(action(d.port, R"({"action":"delete","target":0})", {json, bearer}), 400));
  EXPECT_TRUE(status_is(action(d.port, R"({"action":"restart","target":0,"env":{"A":"1"}})", {json, bearer}), 400));
  EXPECT_TRUE(status_is(action(d.port, std::string(5000, ' '), {json, bearer}), 413));
  EXPECT_TRUE(status_is(action(d.port, R"({"action":"restart","target":"nothing"})", {json, bearer}), 422));
  EXPECT_EQ(pid_of(d.home, 0), before);  // none of them did anything
  EXPECT_EQ(d.home.jlist()[0]["pm2_env"].value("restart_time", -1), 0);

  const std::string done =
      action(d.port, restart, {json, bearer, "Origin: http://127.0.0.1:" + std::to_string(d.port)});
  ASSERT_TRUE(status_is(done, 200)) << done;
  const pid_t after = pid_of(d.home, 0);
  EXPECT_NE(after, before);
  EXPECT_NE(after, 0);
  EXPECT_EQ(pid_of(d.home, 1), other);

  const std::string scaled = action(d.port, R"({"action":"scale","target":"web","instances":3})", {json, bearer});
  ASSERT_TRUE(status_is(scaled, 200)) << scaled;
  EXPECT_EQ(d.home.wait_online("web", 3).size(), 3u);
  const std::string stopped = action(d.port, R"({"action":"stop","target":"2"})", {json, bearer});
  ASSERT_TRUE(status_is(stopped, 200)) << stopped;
  EXPECT_EQ(pid_of(d.home, 2), 0);

  ASSERT_EQ(d.home.drove({"kill"}).exit_code, 0);
  EXPECT_NE(::access((d.home.path() + "/web.token").c_str(), F_OK), 0);  // the token died with its daemon
}

TEST(DashboardApi, ALogStreamCarriesTheAppsLinesAndEndsTheSubscriptionWhenTheClientLeaves) {
  Dashboard d;
  ASSERT_NO_FATAL_FAILURE(d.start());
  EXPECT_TRUE(status_is(request(d.port, "GET", "/api/logs?app=web"), 401));
  EXPECT_TRUE(status_is(
      request(d.port, "GET", "/api/logs?app=" + std::string(300, 'x'), {"Authorization: Bearer " + d.token}), 400));

  LogStream stream(d.port, d.token, "web");
  ASSERT_TRUE(stream.wait_for(": drove live log stream")) << stream.received();
  EXPECT_EQ(stream.received().rfind("HTTP/1.1 200 ", 0), 0u) << stream.received();
  EXPECT_NE(stream.received().find("Content-Type: text/event-stream"), std::string::npos);
  // Not compressed, though the client accepts it: a compressor would hold the lines back.
  EXPECT_EQ(stream.received().find("Content-Encoding"), std::string::npos) << stream.received();
  EXPECT_EQ(ping(d.home)["log_subscribers"].value("count", -1), 1);

  // A line the app prints after the stream opened arrives as an event.
  const std::string served = http_get(d.app_port, "/slow");
  const std::string pid =
      served.substr(served.rfind("pid ") + 4, served.find('\n', served.rfind("pid ")) - served.rfind("pid ") - 4);
  ASSERT_FALSE(pid.empty()) << served;
  EXPECT_TRUE(stream.wait_for("slow request started in " + pid)) << stream.received();
  EXPECT_NE(stream.received().find("event: log\ndata: {"), std::string::npos);

  // At most four streams at once: each holds one of drove-web's threads.
  std::vector<std::unique_ptr<LogStream>> more;
  for (int i = 0; i < 3; ++i) {
    more.push_back(std::make_unique<LogStream>(d.port, d.token, ""));
    ASSERT_TRUE(more.back()->wait_for(": drove live log stream")) << more.back()->received();
  }
  const std::string fifth = request(d.port, "GET", "/api/logs", {"Authorization: Bearer " + d.token});
  EXPECT_TRUE(status_is(fifth, 503)) << fifth;
  EXPECT_NE(fifth.find("too many live log streams"), std::string::npos);

  // Every client leaves (a closed tab): drove-web notices at its next write and unsubscribes,
  // and the daemon's log engine stops feeding subscribers at the next line.
  stream.close();
  for (auto& s : more) s->close();
  EXPECT_TRUE(wait_until(
      [&] {
        http_get(d.app_port, "/slow");  // lines keep coming, as they would
        return ping(d.home)["log_subscribers"].value("count", -1) == 0;
      },
      std::chrono::seconds(20)))
      << ping(d.home).dump();
  // And a new stream can open again.
  LogStream again(d.port, d.token, "");
  EXPECT_TRUE(again.wait_for(": drove live log stream")) << again.received();
}

}  // namespace
}  // namespace drove::e2e
