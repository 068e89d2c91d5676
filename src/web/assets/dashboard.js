// drove's web dashboard (served by drove-web; docs/monitoring.md, "Web dashboard").
// Vanilla JS, no dependency: the list from GET /api/list once a second, charts drawn on
// <canvas> from the samples this page keeps, live logs from GET /api/logs (Server-Sent Events
// read through fetch(), which, unlike EventSource, can send the Authorization header), actions
// through POST /api/action. Everything a process or a log line says is shown as text (no
// innerHTML), and the page's Content-Security-Policy allows no script but this file.
'use strict';
(() => {
  const HISTORY = 120;  // samples kept per instance: two minutes at one a second
  const POLL_MS = 1000;
  const MAX_LOG_LINES = 500;
  const LOG_RETRY_MS = 3000;

  // The token comes in the URL's fragment (`drove web` prints it), which browsers never send to
  // a server; it moves to sessionStorage (this tab only) and out of the address bar and history.
  function takeToken() {
    const match = /(?:^#|&)token=([0-9a-f]{64})(?:&|$)/.exec(location.hash);
    if (match) {
      sessionStorage.setItem('drove-token', match[1]);
      history.replaceState(null, '', location.pathname + location.search);
    }
    return sessionStorage.getItem('drove-token') || '';
  }
  const token = takeToken();

  const $ = (id) => document.getElementById(id);
  const tbody = document.querySelector('#processes tbody');
  const rows = new Map();     // id → <tr>
  const samples = new Map();  // id → {cpu: [], memory: []}
  let latest = [];            // the last list
  let selected = null;        // the selected instance's id
  let logApp = null;          // the app whose lines #logs shows
  let logAbort = null;
  let logRetry = null;

  function el(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function formatBytes(bytes) {
    if (!(bytes > 0)) return '0 B';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    const power = Math.min(units.length - 1, Math.floor(Math.log(bytes) / Math.log(1024)));
    return (bytes / Math.pow(1024, power)).toFixed(power ? 1 : 0) + ' ' + units[power];
  }

  function formatUptime(startedAt, status) {
    if (status !== 'online' || !(startedAt > 0)) return '-';
    const seconds = Math.max(0, Math.floor((Date.now() - startedAt) / 1000));
    if (seconds < 60) return seconds + 's';
    if (seconds < 3600) return Math.floor(seconds / 60) + 'm';
    if (seconds < 86400) return Math.floor(seconds / 3600) + 'h';
    return Math.floor(seconds / 86400) + 'd';
  }

  function setStatus(text) { $('status').textContent = text; }

  // A line chart of `values`: CPU from 0 to its peak, memory between its lowest and highest
  // sample (a 40 MiB process moving by 2 MiB shows the move). The canvas says how many samples
  // the page has had for it (data-samples: all of them, not only the HISTORY it draws), so a
  // test can see it move.
  function drawChart(canvas, values, color, options) {
    const context = canvas.getContext('2d');
    const width = canvas.width;
    const height = canvas.height;
    context.clearRect(0, 0, width, height);
    canvas.dataset.samples = String(options.total !== undefined ? options.total : values.length);
    if (values.length === 0) return;
    const peak = Math.max(...values);
    const low = options.fromZero ? 0 : Math.min(...values);
    const span = peak - low;
    const top = span > 0 ? peak + span * 0.15 : peak + Math.max(1, peak * 0.5);
    const bottom = span > 0 || options.fromZero ? low : low - Math.max(1, low * 0.5);
    const step = width / (HISTORY - 1);
    const points = values.length === 1 ? [values[0], values[0]] : values;  // one sample: a short flat line
    const x0 = width - (points.length - 1) * step;
    context.beginPath();
    points.forEach((value, i) => {
      const x = x0 + i * step;
      const y = height - 2 - ((value - bottom) / (top - bottom)) * (height - 4);
      if (i === 0) context.moveTo(x, y); else context.lineTo(x, y);
    });
    context.strokeStyle = color;
    context.lineWidth = 1.5;
    context.stroke();
    context.lineTo(width, height);
    context.lineTo(x0, height);
    context.closePath();
    context.globalAlpha = 0.15;
    context.fillStyle = color;
    context.fill();
    context.globalAlpha = 1;
    if (options.label) {
      context.fillStyle = '#8b96a1';
      context.font = '11px sans-serif';
      context.fillText(options.label(values[values.length - 1], peak), 4, 12);
    }
  }

  function actionButton(action, target, title) {
    const button = el('button', { type: 'button', 'data-action': action }, action);
    button.disabled = !token;
    button.title = token ? title : 'needs the token: open the URL `drove web` prints';
    button.addEventListener('click', (event) => {
      event.stopPropagation();  // a button does not select its row
      act(action, target);
    });
    return button;
  }

  function newRow(process) {
    const tr = el('tr', { 'data-id': String(process.id) });
    for (const name of ['id', 'name', 'namespace', 'pid', 'status', 'cpu', 'memory', 'restarts', 'uptime']) {
      const numeric = ['id', 'pid', 'cpu', 'memory', 'restarts'].includes(name);
      tr.appendChild(el('td', { class: name + (numeric ? ' num' : '') }));
    }
    const cpu = el('canvas', { class: 'cpu-chart', width: '120', height: '26', 'data-samples': '0' });
    const memory = el('canvas', { class: 'memory-chart', width: '120', height: '26', 'data-samples': '0' });
    tr.appendChild(el('td')).appendChild(cpu);
    tr.appendChild(el('td')).appendChild(memory);
    const actions = el('td', { class: 'actions' });
    const id = String(process.id);
    actions.append(actionButton('restart', id, 'restart this instance'), ' ',
                   actionButton('reload', id, 'reload this instance (a new process before the old one stops)'), ' ',
                   actionButton('stop', id, 'stop this instance'));
    tr.appendChild(actions);
    tr.addEventListener('click', () => select(process.id));
    return tr;
  }

  function fillRow(tr, process) {
    const cell = (name) => tr.querySelector('td.' + name);
    tr.dataset.pid = String(process.pid || 0);
    tr.dataset.name = process.name;
    cell('id').textContent = process.id;
    cell('name').textContent = process.name;
    cell('namespace').textContent = process.namespace || 'default';
    cell('pid').textContent = process.pid || 'N/A';
    const status = cell('status');
    status.textContent = process.status;
    status.className = 'status status-' + String(process.status).replace(/ /g, '-');
    cell('cpu').textContent = (process.cpu || 0).toFixed(1) + '%';
    cell('memory').textContent = formatBytes(process.memory);
    cell('restarts').textContent = process.restart_time || 0;
    cell('uptime').textContent = formatUptime(process.started_at, process.status);
    const history = samples.get(process.id);
    drawChart(tr.querySelector('canvas.cpu-chart'), history.cpu, '#58a6ff', { fromZero: true, total: history.total });
    drawChart(tr.querySelector('canvas.memory-chart'), history.memory, '#bc8cff', { total: history.total });
    tr.classList.toggle('selected', process.id === selected);
  }

  function update(list) {
    latest = list;
    const seen = new Set();
    for (const process of list) {
      seen.add(process.id);
      let history = samples.get(process.id);
      if (!history) samples.set(process.id, history = { cpu: [], memory: [], total: 0 });
      if (process.history && history.cpu.length === 0 && process.history.cpu.length > 0) {
        // The daemon's own last minutes (the first poll asks for them): charts start full.
        history.cpu = process.history.cpu.slice(-HISTORY);
        history.memory = process.history.memory.slice(-HISTORY);
        history.total = process.history.cpu.length;
      } else if (process.pid > 0 && process.memory > 0) {
        // A sample once the daemon has measured the process (a new one reads 0 B until then).
        history.cpu.push(process.cpu || 0);
        history.memory.push(process.memory);
        history.total += 1;
        if (history.cpu.length > HISTORY) { history.cpu.shift(); history.memory.shift(); }
      }
      let tr = rows.get(process.id);
      if (!tr) rows.set(process.id, tr = newRow(process));
      tbody.appendChild(tr);  // keeps the daemon's order
      fillRow(tr, process);
    }
    for (const [id, tr] of rows) {
      if (seen.has(id)) continue;
      tr.remove();
      rows.delete(id);
      samples.delete(id);
    }
    const online = list.filter((p) => p.status === 'online').length;
    $('summary').textContent = `${list.length} process(es), ${online} online · updated ${new Date().toLocaleTimeString()}`;
    if (selected === null && list.length > 0) select(list[0].id);
    else showDetails();
  }

  function select(id) {
    selected = id;
    for (const [rowId, tr] of rows) tr.classList.toggle('selected', rowId === id);
    showDetails();
  }

  function showDetails() {
    const process = latest.find((p) => p.id === selected);
    $('details').hidden = !process;
    if (!process) return;
    $('details-title').textContent = `${process.name} (id ${process.id}, ${process.exec_mode || 'fork'} mode)`;
    const fields = [
      ['pid', process.pid || 'N/A'], ['status', process.status],
      ['namespace', process.namespace || 'default'], ['instance', process.index],
      ['restarts', process.restart_time || 0], ['uptime', formatUptime(process.started_at, process.status)],
      ['cpu', (process.cpu || 0).toFixed(1) + '%'], ['memory', formatBytes(process.memory)],
      ['private memory', formatBytes(process.private_memory)], ['descriptors', process.fds || 0],
      ['threads', process.threads || 0], ['processes', process.tree_processes || 0],
      ['user', process.user || '-'], ['last error', process.last_error || '-'],
    ];
    for (const [name, metric] of Object.entries(process.axm_monitor || {})) {
      const value = metric && typeof metric === 'object' ? metric.value : metric;
      const unit = metric && metric.unit ? ' ' + metric.unit : '';
      fields.push([name, String(value) + unit]);
    }
    const list = $('details-fields');
    list.replaceChildren(...fields.flatMap(([name, value]) => [el('dt', {}, name), el('dd', {}, String(value))]));
    const history = samples.get(process.id) || { cpu: [], memory: [] };
    drawChart($('details-cpu'), history.cpu, '#58a6ff',
              { fromZero: true, total: history.total,
                label: (now, peak) => `${now.toFixed(1)}% (peak ${peak.toFixed(1)}%)` });
    drawChart($('details-memory'), history.memory, '#bc8cff',
              { total: history.total, label: (now, peak) => `${formatBytes(now)} (peak ${formatBytes(peak)})` });
    const count = latest.filter((p) => p.name === process.name).length;
    const scale = $('scale-count');
    if (document.activeElement !== scale) scale.value = String(count);
    if (logApp !== process.name) streamLogs(process.name);
  }

  async function act(action, target, extra) {
    setStatus(`${action} ${target}…`);
    try {
      const response = await fetch('/api/action', {
        method: 'POST',
        cache: 'no-store',
        headers: { 'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json' },
        body: JSON.stringify(Object.assign({ action, target }, extra || {})),
      });
      const body = await response.json().catch(() => ({}));
      if (response.status === 202) setStatus(`${action} ${target}: accepted, still in progress`);
      else if (response.ok) setStatus(`${action} ${target}: done`);
      else setStatus(`${action} ${target}: refused (${response.status}): ${body.error || response.statusText}`);
    } catch (error) {
      setStatus(`${action} ${target}: ${error.message}`);
    }
    poll(false);
  }

  function logLine(event) {
    const logs = $('logs');
    const atBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
    const line = el('div', { class: event.stream === 'err' ? 'err' : 'out' });
    line.append(el('span', { class: 'app' }, `${event.id}|${event.name} `), String(event.text));
    logs.appendChild(line);
    while (logs.childElementCount > MAX_LOG_LINES) logs.firstElementChild.remove();
    if (atBottom) logs.scrollTop = logs.scrollHeight;
  }

  function logNote(text) {
    $('logs').appendChild(el('div', { class: 'note' }, text));
  }

  function handleEvent(block) {
    let type = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) type = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    if (!data) return;  // a keep-alive comment
    const payload = JSON.parse(data);
    if (type === 'log') logLine(payload);
    else if (type === 'dropped') logNote(`… ${payload.lines} line(s) dropped: this page fell behind`);
  }

  // The selected app's live lines, from now on (the log files keep the past: `drove logs`).
  async function streamLogs(app) {
    if (logAbort) logAbort.abort();
    clearTimeout(logRetry);
    logApp = app;
    $('logs').replaceChildren();
    if (!token) {
      $('logs-state').textContent = '(need the token: open the URL `drove web` prints)';
      return;
    }
    const controller = new AbortController();
    logAbort = controller;
    try {
      const response = await fetch('/api/logs?app=' + encodeURIComponent(app), {
        cache: 'no-store',
        headers: { 'Authorization': 'Bearer ' + token },
        signal: controller.signal,
      });
      if (!response.ok) throw new Error(`${response.status}: ${(await response.text()).trim()}`);
      $('logs-state').textContent = '(live)';
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        for (let end; (end = buffer.indexOf('\n\n')) >= 0;) {
          handleEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
      $('logs-state').textContent = '(stream ended; reconnecting)';
    } catch (error) {
      if (error.name === 'AbortError') return;
      $('logs-state').textContent = `(${error.message}; retrying)`;
    }
    if (logAbort === controller) logRetry = setTimeout(() => { if (logApp === app) streamLogs(app); }, LOG_RETRY_MS);
  }

  let historyLoaded = false;
  async function poll(reschedule = true) {
    try {
      const response = await fetch(historyLoaded ? '/api/list' : '/api/list?history=1', { cache: 'no-store' });
      if (!response.ok) throw new Error((await response.text()).trim() || String(response.status));
      update(await response.json());
      historyLoaded = true;
    } catch (error) {
      $('summary').textContent = `daemon unavailable: ${error.message}`;
    }
    if (reschedule) setTimeout(poll, POLL_MS);
  }

  $('mode').textContent = token ? 'actions enabled' : 'read-only';
  $('mode').classList.toggle('actions', !!token);
  if (!token) {
    const notice = $('notice');
    notice.hidden = false;
    notice.textContent = 'Read-only: actions and live logs need the token. Open the URL that `drove web` prints.';
  }
  $('reload-app').disabled = $('scale-app').disabled = !token;
  $('reload-app').addEventListener('click', () => {
    const process = latest.find((p) => p.id === selected);
    if (process) act('reload', process.name);
  });
  $('scale-app').addEventListener('click', () => {
    const process = latest.find((p) => p.id === selected);
    const count = Number($('scale-count').value);
    if (process && Number.isInteger(count) && count >= 0) act('scale', process.name, { instances: count });
  });
  poll();
})();
