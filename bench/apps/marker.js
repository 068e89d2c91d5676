// Crash-recovery app: the first thing it does is write "<pid> <wall-clock ms>" to $BENCH_MARKER,
// so the harness can tell when the app's own code runs again after a SIGKILL.
const fs = require('fs');
const now = performance.timeOrigin + performance.now();
fs.writeFileSync(process.env.BENCH_MARKER + '.tmp', `${process.pid} ${now}`);
fs.renameSync(process.env.BENCH_MARKER + '.tmp', process.env.BENCH_MARKER);
setInterval(() => {}, 1 << 30);
