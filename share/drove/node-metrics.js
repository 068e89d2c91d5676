// drove's Node metrics preload (opt-in: `node_metrics: true`, `drove start app.js --node-metrics`).
//
// drove runs `node --require <this file> app.js`. Once a second it sends the daemon the figures
// PM2's @pm2/io reports for every Node app (heap, event-loop latency, active handles and
// requests) as the `axm:monitor` messages @pm2/io sends, so they show in `drove describe`,
// `monit`, the dashboard and `drove metrics` (drove_app_metric) without a wrapper process and
// without the app depending on anything.
//
// It must cost the app nothing it would notice: the timer is unref'd (an app that ends on its
// own still ends), the channel is never ref'd by it, nothing is sent once the channel is gone,
// and nothing it does can throw into the app.
'use strict';

(function droveNodeMetrics() {
  if (typeof process.send !== 'function' || global.__droveNodeMetrics) return;
  global.__droveNodeMetrics = true;
  const PERIOD_MS = 1000;
  let histogram = null;
  try {
    histogram = require('perf_hooks').monitorEventLoopDelay({resolution: 10});
    histogram.enable();
  } catch (_) {
    histogram = null;  // an old Node: heap figures only
  }
  const mib = (bytes) => Math.round((bytes / 1048576) * 100) / 100;
  const ms = (nanoseconds) => Math.round((nanoseconds / 1e6) * 100) / 100;
  const count = (name) => {
    try {
      const list = process[name]();
      return Array.isArray(list) ? list.length : undefined;
    } catch (_) {
      return undefined;
    }
  };
  const report = () => {
    if (!process.connected) return;
    const memory = process.memoryUsage();
    const data = {
      'Heap Size': {value: mib(memory.heapTotal), unit: 'MiB'},
      'Used Heap Size': {value: mib(memory.heapUsed), unit: 'MiB'},
      'Heap Usage': {value: memory.heapTotal ? Math.round((memory.heapUsed / memory.heapTotal) * 10000) / 100 : 0,
                     unit: '%'},
    };
    if (histogram) {
      // The histogram's minimum is its resolution: what is above it is what the app held the loop.
      data['Event Loop Latency'] = {value: ms(Math.max(histogram.mean - 10e6, 0)), unit: 'ms'};
      data['Event Loop Latency p95'] = {value: ms(Math.max(histogram.percentile(95) - 10e6, 0)), unit: 'ms'};
      histogram.reset();
    }
    const handles = count('_getActiveHandles');
    if (handles !== undefined) data['Active handles'] = {value: handles};
    const requests = count('_getActiveRequests');
    if (requests !== undefined) data['Active requests'] = {value: requests};
    try {
      process.send({type: 'axm:monitor', data}, undefined, {swallowErrors: true}, () => {});
    } catch (_) {
      // The channel closed between the check and the send: the next tick finds it gone.
    }
  };
  setInterval(report, PERIOD_MS).unref();
})();
