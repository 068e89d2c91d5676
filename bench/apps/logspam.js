// Log-throughput app: writes "<pid> <wall-clock ms>" to $BENCH_MARKER, then prints $BENCH_LINES
// short lines to stdout as fast as it can, $BENCH_BATCH lines per write (1: one write per line,
// like console.log), then a final marker line, then stays alive (so no restart prints them again).
const fs = require('fs');
const n = Number(process.env.BENCH_LINES || 100000);
const batch = Math.max(1, Number(process.env.BENCH_BATCH || 1));
fs.writeFileSync(process.env.BENCH_MARKER, `${process.pid} ${performance.timeOrigin + performance.now()}`);
let i = 0;
function pump() {
  // Writes to a pipe or a file are synchronous on Linux; yield now and then so the process stays
  // responsive to signals.
  const end = Math.min(n, i + 20000);
  while (i < end) {
    let chunk = '';
    const stop = Math.min(end, i + batch);
    for (; i < stop; i++) chunk += `line ${i} lorem ipsum dolor\n`;
    process.stdout.write(chunk);
  }
  if (i < n) setImmediate(pump);
  else {
    process.stdout.write('BENCH-LOG-DONE\n');
    setInterval(() => {}, 1 << 30);
  }
}
pump();
