// A tiny long-running app: does nothing but stay alive (daemon RSS, list latency, start, app memory).
setInterval(() => {}, 1 << 30);
