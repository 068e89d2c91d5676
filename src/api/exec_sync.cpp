// exec_sync() / exec_file_sync(): the blocking forms, on the engine's run_capture() (which waits
// for its own pid only, so it never steals an EventLoop's children).
#include "drove/process.hpp"
#include "process/run_capture.hpp"

namespace drove {

Result<ExecResult> exec_file_sync(const std::string& file, const std::vector<std::string>& args,
                                  const ExecOptions& options) {
  std::vector<std::string> argv{file};
  argv.insert(argv.end(), args.begin(), args.end());
  const Environment env = options.env ? *options.env : current_environment();
  // run_capture treats its timeout as a deadline; "none" is a day.
  const int timeout_ms = options.timeout_ms > 0 ? static_cast<int>(options.timeout_ms) : 24 * 3600 * 1000;
  auto captured = process::run_capture(argv, env, options.cwd, "", timeout_ms);
  ExecResult result;
  if (!captured.ok()) {
    if (captured.error().code != ETIMEDOUT) return captured.error();
    result.exit = {-1, SIGKILL};
    result.error = captured.error();
    return result;
  }
  result.exit = {captured->exit_code, captured->signal};
  result.out = std::move(captured->out);
  result.err = std::move(captured->err);
  // run_capture has no bound while running; the bound applies to what is returned.
  for (std::string* s : {&result.out, &result.err}) {
    if (s->size() > options.max_buffer) {
      s->resize(options.max_buffer);
      result.error = SysError{ENOBUFS, "max_buffer exceeded"};
    }
  }
  return result;
}

Result<ExecResult> exec_sync(const std::string& command, const ExecOptions& options) {
  return exec_file_sync(options.shell, {"-c", command}, options);
}

}  // namespace drove
