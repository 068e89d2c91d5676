#!/usr/bin/env node
// The web dashboard in a real browser: headless Chromium (Debian's `chromium`) driven by
// puppeteer-core, both installed by scripts/setup.sh. Registered in tests/CMakeLists.txt as
// Dashboard.BrowserListsChartsLogsAndRestartsWithTheToken; skipped (exit 77, with the reason)
// only when chromium or puppeteer-core is missing.
//
// A private daemon (DROVE_HOME in a temporary directory) with DROVE_METRICS_ADDR runs a
// 2-instance cluster app; the page is opened at the URL `drove web` prints, and:
//  - the token leaves the address bar; the rows show the pids `drove jlist` shows;
//  - a chart moves (its canvas's data-samples grows);
//  - a line the app prints arrives in the live logs;
//  - without the token, a request is refused and no pid changes: from Node, from the page's own
//    origin, and from a page on another origin (a CSRF attempt);
//  - a restart clicked in the page changes that instance's pid (jlist), and the page follows.
// With DROVE_SCREENSHOTS=1 it saves docs/images/dashboard-*.png (for docs/monitoring.md).
// The daemon is killed and the home removed at the end, also on failure.
//
// Environment (set by CMake): DROVE_BIN, DROVE_FIXTURES_DIR, DROVE_DOCS_IMAGES; CHROMIUM
// (default /usr/bin/chromium); DROVE_NPM_MODULES (default ~/.cache/drove/npm/node_modules).
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const SKIP = 77;
const drove = process.env.DROVE_BIN;
const fixtures = process.env.DROVE_FIXTURES_DIR;
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
const modules = process.env.DROVE_NPM_MODULES || path.join(os.homedir(), '.cache/drove/npm/node_modules');

function skip(why) {
  console.log(`SKIP: ${why}`);
  process.exit(SKIP);
}

if (!drove || !fixtures) {
  console.error('DROVE_BIN and DROVE_FIXTURES_DIR must be set (ctest sets them)');
  process.exit(2);
}
try {
  fs.accessSync(chromium, fs.constants.X_OK);
} catch {
  skip(`no Chromium at ${chromium} (Debian: apt-get install chromium; scripts/setup.sh installs it)`);
}
let puppeteer;
try {
  puppeteer = require(require.resolve('puppeteer-core', { paths: [modules] }));
} catch {
  skip(`puppeteer-core is not installed in ${modules} (scripts/setup.sh installs it)`);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log(`ok - ${message}`);
}

// Polls `condition` (may be async) every 100 ms until it returns a truthy value; throws after
// `timeoutMs` with `what`.
async function waitFor(what, condition, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await condition();
      if (last) return last;
    } catch (error) {
      last = error.message;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function httpRequest(port, method, urlPath, headers = {}, body = '') {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers, timeout: 10000 },
                                 (response) => {
                                   let text = '';
                                   response.on('data', (chunk) => { text += chunk; });
                                   response.on('end', () => resolve({ status: response.statusCode, body: text }));
                                 });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
    request.end(body);
  });
}

async function main() {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'drove-dashboard-'));
  const env = { ...process.env, DROVE_HOME: home };
  delete env.DROVE_METRICS_ADDR;
  delete env.DROVE_METRICS_ALLOW_REMOTE;
  const run = (args, extra = {}) => execFileSync(drove, args, { env: { ...env, ...extra }, encoding: 'utf8' });
  const jlist = () => JSON.parse(run(['jlist']));
  const pidOf = (id) => (jlist().find((p) => p.pm_id === id) || {}).pid || 0;
  let browser = null;
  let otherSite = null;
  let passed = false;
  try {
    const port = await freePort();
    const appPort = await freePort();
    run(['start', path.join(fixtures, 'apps/pid_server.js'), '--name', 'web', '-i', '2'],
        { DROVE_METRICS_ADDR: `127.0.0.1:${port}`, PORT: String(appPort), SLOW_MS: '1' });
    const pids = await waitFor('2 online instances', () => {
      const list = jlist();
      return list.length === 2 && list.every((p) => p.pm2_env.status === 'online' && p.pid > 0) &&
             new Map(list.map((p) => [p.pm_id, p.pid]));
    });
    await waitFor('/healthz', async () => (await httpRequest(port, 'GET', '/healthz')).status === 200);
    const url = run(['web']).trim();
    check(new RegExp(`^http://127\\.0\\.0\\.1:${port}/#token=[0-9a-f]{64}$`).test(url), `drove web prints ${url.replace(/token=.*/, 'token=…')}`);
    const token = url.slice(url.indexOf('token=') + 6);

    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      // --no-sandbox: Chromium's sandbox refuses to run as root (the tests run as root).
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    });
    const page = await browser.newPage();
    await page.setViewport({ width: 1360, height: 860 });
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(url);
    check(!page.url().includes('token'), 'the token left the address bar');
    check(await page.$eval('#mode', (node) => node.textContent) === 'actions enabled', 'the page holds the token');

    // The rows: the same pids as jlist.
    const rowsOf = () => page.$$eval('#processes tbody tr', (rows) => rows.map((row) => ({
      id: Number(row.dataset.id), pid: Number(row.dataset.pid), shown: Number(row.querySelector('td.pid').textContent),
      status: row.querySelector('td.status').textContent,
    })));
    await waitFor('two rows', async () => (await rowsOf()).length === 2);
    for (const row of await rowsOf()) {
      check(row.pid === pids.get(row.id) && row.shown === row.pid && row.status === 'online',
            `row ${row.id} shows pid ${row.shown}, jlist's pid ${pids.get(row.id)}`);
    }

    // A chart moves: each list adds a sample to every instance's charts.
    const samples = (selector) => page.$eval(selector, (canvas) => Number(canvas.dataset.samples));
    const first = await samples('tr[data-id="0"] canvas.cpu-chart');
    await waitFor('3 more CPU samples', async () => (await samples('tr[data-id="0"] canvas.cpu-chart')) >= first + 3);
    check(await samples('#details-memory') >= first + 3, `the charts grew from ${first} samples`);

    // Live logs: the selected app's lines from now on.
    await waitFor('the live log stream', async () => (await page.$eval('#logs-state', (n) => n.textContent)) === '(live)');
    const served = await httpRequest(appPort, 'GET', '/slow');
    const printer = /pid (\d+)/.exec(served.body)[1];
    await waitFor('the app\'s line in the page', async () =>
      (await page.$eval('#logs', (n) => n.textContent)).includes(`slow request started in ${printer}`));
    check(true, `the live logs show the line pid ${printer} printed`);

    if (process.env.DROVE_SCREENSHOTS === '1') {
      // Some traffic, in waves, so that the charts in the pictures have something to show.
      let tick = 0;
      const traffic = setInterval(() => {
        tick += 1;
        const burst = Math.round(15 * (1 + Math.sin(tick / 15)));
        for (let i = 0; i < burst; ++i) httpRequest(appPort, 'GET', '/').catch(() => {});
      }, 50);
      await waitFor('45 s of samples', async () => (await samples('#details-cpu')) >= 45, 90000)
        .finally(() => clearInterval(traffic));
      for (let i = 0; i < 3; ++i) await httpRequest(appPort, 'GET', '/slow');
      await waitFor('3 more log lines', async () =>
        (await page.$$eval('#logs div', (lines) => lines.length)) >= 4);
      fs.mkdirSync(process.env.DROVE_DOCS_IMAGES, { recursive: true });
      await page.screenshot({ path: path.join(process.env.DROVE_DOCS_IMAGES, 'dashboard-list.png') });
    }

    // Without the token nothing happens: from Node, from the page's origin, from another site.
    const before = pidOf(1);
    const body = JSON.stringify({ action: 'restart', target: 1 });
    const bare = await httpRequest(port, 'POST', '/api/action', { 'Content-Type': 'application/json' }, body);
    check(bare.status === 401, `POST /api/action without the token: ${bare.status} ${bare.body.trim()}`);
    const fromPage = await page.evaluate(async (text) => {
      const response = await fetch('/api/action', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: text });
      return response.status;
    }, body);
    check(fromPage === 401, `the same from the page without its token: ${fromPage}`);
    otherSite = http.createServer((request, response) => response.end('<!doctype html><title>elsewhere</title>'));
    await new Promise((resolve) => otherSite.listen(0, '127.0.0.1', resolve));
    const other = await browser.newPage();
    await other.goto(`http://localhost:${otherSite.address().port}/`);
    const forged = await other.evaluate(async (target, text, bearer) => {
      const outcomes = [];
      // A "simple" request (no preflight): it reaches drove-web, whose Origin check refuses it.
      await fetch(target, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: text })
        .then(() => outcomes.push('simple: sent'), (e) => outcomes.push(`simple: ${e.message}`));
      // With the header an action needs: the browser asks first (CORS preflight), drove-web
      // does not allow it, and the request is never sent.
      await fetch(target, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: bearer }, body: text })
        .then((r) => outcomes.push(`preflighted: ${r.status}`), (e) => outcomes.push(`preflighted: ${e.name}`));
      return outcomes;
    }, `http://127.0.0.1:${port}/api/action`, body, `Bearer ${token}`);
    check(forged[1] === 'preflighted: TypeError', `another site cannot send the token: ${forged.join(', ')}`);
    await other.close();
    check(pidOf(1) === before, `instance 1 kept pid ${before}`);

    // A restart clicked in the page: the pid changes in jlist, and the page follows.
    const old = pidOf(0);
    await page.click('tr[data-id="0"] button[data-action="restart"]');
    const renewed = await waitFor('a new pid for instance 0', () => {
      const p = jlist().find((q) => q.pm_id === 0);
      return p && p.pid !== old && p.pid > 0 && p.pm2_env.status === 'online' && p.pid;
    });
    check(true, `restart clicked: instance 0 went from pid ${old} to ${renewed}`);
    await waitFor('the page to show the new pid', async () =>
      (await rowsOf()).find((row) => row.id === 0).shown === renewed);
    check(await page.$eval('#status', (n) => n.textContent) === 'restart 0: done', 'the page says the restart is done');
    check(pidOf(1) === before, 'instance 1 was not restarted');
    check(pageErrors.length === 0, `no script error in the page${pageErrors.length ? ': ' + pageErrors.join('; ') : ''}`);

    if (process.env.DROVE_SCREENSHOTS === '1') {
      await page.screenshot({ path: path.join(process.env.DROVE_DOCS_IMAGES, 'dashboard-restarted.png') });
      // What a browser without the token sees: read-only.
      const readOnly = await browser.createBrowserContext();
      const plain = await readOnly.newPage();
      await plain.setViewport({ width: 1360, height: 560 });
      await plain.goto(`http://127.0.0.1:${port}/`);
      await waitFor('rows and a few samples without the token', async () =>
        (await plain.$$eval('#processes tbody tr', (rows) => rows.length)) === 2 &&
        (await plain.$eval('#details-memory', (canvas) => Number(canvas.dataset.samples))) >= 5);
      await plain.screenshot({ path: path.join(process.env.DROVE_DOCS_IMAGES, 'dashboard-read-only.png') });
      await readOnly.close();
      console.log(`screenshots saved in ${process.env.DROVE_DOCS_IMAGES}`);
    }
    passed = true;
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (otherSite) otherSite.close();
    try {
      run(['kill']);
    } catch (error) {
      console.error(`drove kill: ${error.message}`);
    }
    if (!passed) {
      try {
        console.error(`--- the end of ${home}/drove.log:\n` +
                      fs.readFileSync(path.join(home, 'drove.log'), 'utf8').split('\n').slice(-30).join('\n'));
      } catch {
        // no log: the daemon never started
      }
    }
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().then(() => console.log('PASS'), (error) => {
  console.error(`FAIL: ${error.stack || error.message}`);
  process.exit(1);
});
