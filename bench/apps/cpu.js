// CPU-bound HTTP app for the autoscale scenario: every request burns WORK_MS (default 10) of
// CPU before its answer, on $PORT.
const http = require('http');
const workMs = Number(process.env.WORK_MS || 10);
http.createServer((req, res) => {
  const until = process.hrtime.bigint() + BigInt(workMs) * 1000000n;
  let x = 0;
  while (process.hrtime.bigint() < until) x += Math.sqrt(x + 1);
  res.end('done');
}).listen(Number(process.env.PORT || 3000));
