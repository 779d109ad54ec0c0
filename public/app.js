// The mewld dashboard: one page, live from /api/ws, no build step.
// State arrives as a snapshot, then one numbered message per change; a gap in
// the numbers asks for a fresh snapshot; a lost connection reconnects by itself.

import { sparkline } from '/charts.js';
import { isProblem, layoutGrid, rowOf, rowsBetween, unplannedRestarts } from '/grid.js';

const $ = (id) => document.getElementById(id);

const STATE_LABEL = {
  running: 'running',
  diagPending: 'running',
  diagOverdue: 'running',
  idle: 'idle',
  queued: 'queued',
  starting: 'starting',
  waitingLaunchNext: 'launching',
  launchOverdue: 'launching',
  stopping: 'stopping',
  restarting: 'restarting',
  stopped: 'stopped',
  dead: 'dead',
  backoff: 'backoff',
  failed: 'failed',
};
const SUMMARY_ORDER = ['up', 'starting', 'stopping', 'backoff', 'dead', 'failed', 'stopped', 'idle'];

const model = {
  seq: 0,
  clusters: new Map(),
  phase: null,
  bus: null,
  gateway: null,
  actionLogs: [],
  selected: null,
  // The state group shown alone (a counter clicked), and the search text.
  filter: null,
  search: '',
  // The grid's order and sections (public/grid.js). These four are kept in the address (#sort=...&group=...),
  // so that a view can be bookmarked or shared, and survives a reload.
  sort: 'id',
  groupBy: 'none',
  // The rolling restart in progress, or the last one (GET /api/rolling-restart).
  rollout: null,
};
// The tiles in the page: only those on screen (and a little around), by cluster id.
const tiles = new Map();

// ---------- formatting

function duration(ms) {
  if (ms < 0 || !Number.isFinite(ms)) return '–';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
const ago = (at) => (at ? `${duration(Date.now() - at)} ago` : '–');
const clock = (at) => new Date(at).toLocaleTimeString();

function shardRange(shards) {
  if (shards.length === 0) return 'no shards';
  if (shards.length === 1) return `shard ${shards[0]}`;
  return `shards ${shards[0]}–${shards[shards.length - 1]}`;
}

// The server's summary of the current diagnostic (the one summary every view shows; null when there is none).
const latencyOf = (cluster) => cluster.health?.latency ?? null;
// Each shard's current figures; none when the server says the last answer is stale (health_fresh is its rule, not ours).
const currentShards = (cluster) => new Map((cluster.health_fresh ? (cluster.last_diag?.health ?? []) : []).map((h) => [h.shard_id, h]));

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---------- rendering

function renderHeader() {
  const phase = $('phase');
  phase.textContent = model.phase ?? 'connecting';
  phase.dataset.phase = (model.phase ?? 'discovering').replace(/ /g, '-');
  const bus = $('bus');
  if (model.bus) {
    bus.textContent = `${model.bus.kind} bus ${model.bus.up ? 'up' : 'down'}`;
    bus.dataset.up = String(model.bus.up);
  }
  const g = model.gateway;
  const parts = g?.shards ? [`${model.clusters.size} clusters`, `${g.shards} shards`] : ['finding the shard count…'];
  if (g?.identify_buckets > 1) parts.push(`${g.identify_buckets} identify buckets`);
  if (g?.session_starts_left != null) parts.push(`${g.session_starts_left.toLocaleString('en')} session starts left`);
  $('bot-summary').textContent = parts.join(' · ');
  $('rolling-restart').disabled = model.phase !== 'up';
}

function renderSummary() {
  const counts = {};
  let guilds = 0;
  const latencies = [];
  for (const c of model.clusters.values()) {
    const group = c.group;
    counts[group] = (counts[group] ?? 0) + 1;
    for (const h of currentShards(c).values()) guilds += h.guilds ?? 0;
    const latency = latencyOf(c);
    if (latency !== null) latencies.push(latency);
  }
  const summary = $('summary');
  summary.replaceChildren();
  // The counters are the filters: a click shows only that state's clusters, a second click all again.
  for (const group of SUMMARY_ORDER) {
    if (!counts[group] && model.filter !== group) continue;
    const item = el('button', `count group-${group}`);
    item.type = 'button';
    item.dataset.group = group;
    item.setAttribute('aria-pressed', String(model.filter === group));
    item.title = model.filter === group ? 'show every cluster' : `show only the ${group === 'up' ? 'running' : group} clusters`;
    item.append(el('b', '', String(counts[group] ?? 0)), el('span', '', group === 'up' ? 'running' : group));
    item.addEventListener('click', () => setFilter(model.filter === group ? null : group));
    summary.append(item);
  }
  if (latencies.length) {
    const avg = latencies.reduce((a, b) => a + b, 0) / latencies.length;
    const item = el('span', 'count metric');
    item.append(el('b', '', `${Math.round(avg)} ms`), el('span', '', 'mean latency'));
    summary.append(item);
  }
  if (guilds) {
    const item = el('span', 'count metric');
    item.append(el('b', '', guilds.toLocaleString()), el('span', '', 'guilds'));
    summary.append(item);
  }
}

function createTile(id) {
  const tile = el('button', 'tile');
  tile.type = 'button';
  tile.dataset.id = String(id);
  tile.innerHTML =
    '<span class="tile-head"><span class="tile-id"></span><span class="tile-name"></span></span>' +
    '<span class="tile-state"></span><span class="tile-shards"></span>' +
    '<span class="tile-dots"></span>' +
    '<span class="tile-stats"><span class="tile-uptime"></span><span class="tile-restarts"></span><span class="tile-latency"></span></span>';
  tile.addEventListener('click', () => select(id));
  return tile;
}

/** Brings cluster c's tile up to date, if it is on screen. */
function renderTile(c) {
  const tile = tiles.get(c.id);
  if (!tile) return;
  tile.dataset.state = c.state;
  tile.dataset.group = c.group;
  tile.classList.toggle('selected', model.selected === c.id);
  tile.querySelector('.tile-id').textContent = `#${c.id}`;
  tile.querySelector('.tile-name').textContent = c.name;
  tile.querySelector('.tile-state').textContent = STATE_LABEL[c.state] ?? c.state;
  tile.querySelector('.tile-shards').textContent = shardRange(c.shards);
  const dots = tile.querySelector('.tile-dots');
  const health = currentShards(c);
  const none = c.last_diag ? `no current diagnostic (the last, ${ago(c.last_diag.at)}, is stale)` : 'no diagnostic yet';
  dots.replaceChildren(
    ...c.shards.map((s) => {
      const h = health.get(s);
      const dot = el('i', h ? (h.up ? 'up' : 'down') : 'unknown');
      dot.title = h ? `shard ${s}: ${h.up ? (h.latency === null ? 'up' : `${h.latency} ms`) : 'down'}` : `shard ${s}: ${none}`;
      return dot;
    }),
  );
  renderTileTimes(c, tile);
  const latency = latencyOf(c);
  tile.querySelector('.tile-latency').textContent = latency === null ? '' : `${Math.round(latency)} ms`;
  // Restarts it did not ask for (crashes and hangs) on the tile; those on purpose only in its title and the panel.
  const restarts = tile.querySelector('.tile-restarts');
  const unplanned = unplannedRestarts(c);
  restarts.textContent = unplanned ? `↻ ${unplanned}` : '';
  restarts.title = restartCauses(c);
}

/** "2 crashes, 1 by an operator": the restarts of a cluster by cause, the ones that happened. */
function restartCauses(c) {
  const { crash, hang, operator, rollout } = c.restarts_by_cause;
  const parts = [
    [crash, 'crash', 'crashes'],
    [hang, 'hang', 'hangs'],
    [operator, 'by an operator', 'by an operator'],
    [rollout, 'by a rolling restart', 'by rolling restarts'],
  ];
  return parts
    .filter(([n]) => n > 0)
    .map(([n, one, more]) => `${n} ${n === 1 ? one : more}`)
    .join(', ');
}

function renderTileTimes(c, tile = tiles.get(c.id)) {
  if (!tile) return;
  const up = c.up && c.up_at;
  tile.querySelector('.tile-uptime').textContent = up
    ? `up ${duration(Date.now() - c.up_at)}`
    : c.state === 'backoff' && c.backoff_ms
      ? `retry in ${duration(c.backoff_ms)}`
      : '';
}

// ---------- finding clusters: a state filter (the counters) and a search by id or name

/** Whether a cluster is shown: in the state filtered on, and its id or name matches the search. */
function matches(c) {
  if (model.filter !== null && c.group !== model.filter) return false;
  const query = model.search.trim().toLowerCase();
  if (query === '') return true;
  const id = query.replace(/^#/, '');
  return (/^\d+$/.test(id) && c.id === Number(id)) || c.name.toLowerCase().includes(query);
}

function setFilter(group) {
  model.filter = group;
  renderSummary();
  scheduleLayout();
  saveView();
}

// ---------- the view in the address: #filter=failed&q=botan&sort=latency&group=state

const VIEW_KEYS = [
  ['filter', 'filter', null],
  ['q', 'search', ''],
  ['sort', 'sort', 'id'],
  ['group', 'groupBy', 'none'],
];

function saveView() {
  const params = new URLSearchParams();
  for (const [param, key, fallback] of VIEW_KEYS) if (model[key] !== fallback) params.set(param, model[key]);
  const hash = params.toString();
  history.replaceState(null, '', hash ? `#${hash}` : location.pathname + location.search);
}

function loadView() {
  const params = new URLSearchParams(location.hash.slice(1));
  for (const [param, key] of VIEW_KEYS) if (params.has(param)) model[key] = params.get(param);
  $('search').value = model.search;
  $('sort').value = model.sort;
  $('group-by').value = model.groupBy;
  // An unknown value in a hand-edited address: the select shows nothing; the default is meant.
  if ($('sort').value !== model.sort) model.sort = $('sort').value = 'id';
  if ($('group-by').value !== model.groupBy) model.groupBy = $('group-by').value = 'none';
}

// ---------- the grid: every cluster laid out (public/grid.js), only the tiles on screen in the page

const TILE = { minWidth: 190, height: 104, gap: 10, headerHeight: 34 };
// How far beyond the visible part tiles are kept in the page, so that a scroll does not show gaps.
const OVERSCAN_PX = 400;
let grid = { rows: [], columns: 1, tileWidth: TILE.minWidth, height: 0 };
const headers = new Map();

// What reads every cluster (the layout, the counters) runs once a frame, however many messages came:
// a thousand clusters answer their diagnostics in the same tick.
const pending = new Set();
function nextFrame(render) {
  if (pending.size === 0) {
    requestAnimationFrame(() => {
      const due = [...pending];
      pending.clear();
      for (const fn of due) fn();
    });
  }
  pending.add(render);
}
const scheduleLayout = () => nextFrame(layout);

function layout() {
  const viewport = $('grid');
  const shown = [...model.clusters.values()].filter(matches);
  grid = layoutGrid(shown, { width: $('grid-space').clientWidth, sort: model.sort, groupBy: model.groupBy, tile: TILE });
  $('grid-space').style.height = `${grid.height}px`;
  // As tall as the clusters need, up to what the window has left: the page stays short, the grid scrolls.
  const room = Math.max(260, window.innerHeight - viewport.getBoundingClientRect().top - 16);
  viewport.style.height = `${Math.min(grid.height, room)}px`;
  $('empty').hidden = model.clusters.size > 0;
  const filtering = model.filter !== null || model.search.trim() !== '';
  $('shown').textContent = filtering ? `${shown.length} of ${model.clusters.size} shown` : '';
  renderProblems();
  paint();
}

/** Puts in the page the tiles and headers of the rows on screen, and takes out the others. */
function paint() {
  const viewport = $('grid');
  const rows = rowsBetween(grid.rows, viewport.scrollTop - OVERSCAN_PX, viewport.scrollTop + viewport.clientHeight + OVERSCAN_PX);
  const space = $('grid-space');
  const keepTiles = new Set();
  const keepHeaders = new Set();
  for (const row of rows) {
    if (row.header) {
      const { key, count } = row.header;
      keepHeaders.add(key);
      let header = headers.get(key);
      if (!header) {
        header = el('h4', 'section');
        if (model.groupBy === 'state') header.dataset.group = key;
        headers.set(key, header);
        space.append(header);
      }
      header.textContent = `${model.groupBy === 'state' ? (key === 'up' ? 'running' : key) : key || 'no node'} · ${count}`;
      header.style.top = `${row.top}px`;
      header.style.height = `${row.height}px`;
      continue;
    }
    row.ids.forEach((id, column) => {
      keepTiles.add(id);
      let tile = tiles.get(id);
      if (!tile) {
        tile = createTile(id);
        tiles.set(id, tile);
        space.append(tile);
        renderTile(model.clusters.get(id));
      }
      tile.style.top = `${row.top}px`;
      tile.style.left = `${column * (grid.tileWidth + TILE.gap)}px`;
      tile.style.width = `${grid.tileWidth}px`;
      tile.style.height = `${row.height}px`;
    });
  }
  for (const [id, tile] of tiles) if (!keepTiles.has(id)) (tile.remove(), tiles.delete(id));
  for (const [key, header] of headers) if (!keepHeaders.has(key)) (header.remove(), headers.delete(key));
  // In the page in the order they are seen, for the keyboard's Tab and for screen readers.
  const order = rows.flatMap((row) => (row.header ? [headers.get(row.header.key)] : row.ids.map((id) => tiles.get(id))));
  if (order.some((node, i) => space.children[i] !== node)) space.append(...order);
}

/** Scrolls the grid to cluster id's tile (it must be shown), and selects it. */
function reveal(id) {
  const row = rowOf(grid.rows, id);
  if (!row) return;
  const viewport = $('grid');
  if (row.top < viewport.scrollTop || row.top + row.height > viewport.scrollTop + viewport.clientHeight) {
    viewport.scrollTop = Math.max(0, row.top - TILE.headerHeight);
  }
  paint();
  if (model.selected !== id) select(id);
}

/** The problems button: how many clusters need a look, and a click goes to the next one. */
function renderProblems() {
  const problems = [...model.clusters.values()].filter(isProblem).length;
  const button = $('next-problem');
  button.hidden = problems === 0;
  button.textContent = `${problems} ${problems === 1 ? 'problem' : 'problems'} ▸`;
}

function nextProblem() {
  const problems = [...model.clusters.values()].filter(isProblem).map((c) => c.id);
  if (problems.length === 0) return;
  // In the order shown; a problem hidden by the filter or the search is shown by clearing them.
  const order = grid.rows.flatMap((row) => row.ids ?? []).filter((id) => problems.includes(id));
  if (order.length < problems.length) {
    model.filter = null;
    model.search = '';
    $('search').value = '';
    renderSummary();
    layout();
    saveView();
    return nextProblem();
  }
  const after = order.indexOf(model.selected);
  reveal(order[(after + 1) % order.length]);
}

function renderGrid() {
  // A new snapshot: tiles of clusters that no longer exist go; the rest are brought up to date.
  for (const [id, tile] of tiles) if (!model.clusters.has(id)) (tile.remove(), tiles.delete(id));
  for (const c of model.clusters.values()) renderTile(c);
  layout();
}

function fact(list, name, value) {
  list.append(el('dt', '', name), el('dd', '', value));
}

function renderDetail() {
  const panel = $('detail');
  const c = model.selected === null ? undefined : model.clusters.get(model.selected);
  if (!c) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  panel.dataset.group = c.group;
  $('detail-title').textContent = `#${c.id} ${c.name}`;
  $('detail-state').textContent = c.state;
  $('detail-state').dataset.group = c.group;
  $('detail-sub').textContent = shardRange(c.shards);
  const facts = $('detail-facts');
  facts.replaceChildren();
  fact(facts, 'pid', c.pid ?? '–');
  fact(facts, 'started', c.started_at ? `${clock(c.started_at)} (${ago(c.started_at)})` : '–');
  fact(facts, 'up since', c.up_at ? `${clock(c.up_at)} (${duration(Date.now() - c.up_at)})` : '–');
  fact(facts, 'restarts', c.restarts ? `${c.restarts} (${restartCauses(c)})` : '0');
  fact(facts, 'last diagnostic', c.last_diag ? `${ago(c.last_diag.at)}${c.health_fresh ? '' : ' (stale: not current)'}` : '–');
  fact(facts, 'last exit', c.last_exit ? `${describeExit(c.last_exit)}, ${ago(c.last_exit.at)}` : '–');
  if (c.down_reason) fact(facts, 'down because', c.down_reason.replace(/_/g, ' '));
  if (c.backoff_ms) fact(facts, 'backoff', duration(c.backoff_ms));
  if (c.failed_reason) fact(facts, 'failed', c.failed_reason);

  for (const button of panel.querySelectorAll('[data-command]')) button.disabled = !c.allowed.includes(button.dataset.command);

  const rows = $('detail-shards');
  const health = currentShards(c);
  rows.replaceChildren(
    ...c.shards.map((s) => {
      const h = health.get(s);
      const row = el('tr', h ? (h.up ? 'up' : 'down') : 'unknown');
      row.append(
        el('td', '', String(s)),
        el('td', 'flag', h ? (h.up ? 'up' : 'down') : '–'),
        el('td', 'num', h?.latency != null ? `${h.latency} ms` : '–'),
        el('td', 'num', h?.guilds != null ? h.guilds.toLocaleString() : '–'),
        el('td', 'num', h?.users != null ? h.users.toLocaleString() : '–'),
      );
      return row;
    }),
  );
  // Its entries in the action log, newest first: a failed cluster's exits and last lines beside its tile.
  const entries = model.actionLogs
    .filter((item) => item.entry?.id === c.id)
    .slice(-8)
    .reverse();
  $('detail-log').replaceChildren(...entries.map((item, i) => logItem(item, i === 0 && item.entry.event === 'cluster_failed')));
  $('detail-log-none').hidden = entries.length > 0;
  const list = $('detail-transitions');
  list.replaceChildren(
    ...[...c.transitions].reverse().map((t) => {
      const item = el('li');
      const badge = el('span', 'state-badge small', t.state);
      badge.dataset.group = t.group;
      item.append(badge, el('time', '', `${clock(t.at)} · ${ago(t.at)}`));
      return item;
    }),
  );
}

/** An action log item ({entry, text}: the entry and the supervisor's sentence for it) as the page shows it. */
function describeLog({ entry, text: sentence }) {
  const { event, ts, ...rest } = entry ?? {};
  if (rest.truncated === true) {
    // The supervisor sends a big entry (or one it cannot serialize) in short: the whole one is in GET /api/action-logs.
    const size = typeof rest.bytes === 'number' ? `${rest.bytes.toLocaleString('en')} bytes` : 'not serializable';
    return { event: event ?? 'entry', text: `(too big to show: ${size})`, at: typeof ts === 'number' ? ts / 1000 : null };
  }
  // A cluster's last output lines and its exits are shown as lines below the entry, not as JSON.
  const { last_lines: lines, exits, ...fields } = rest;
  // The supervisor's sentence when it has one; else (an entry it could not word) its fields.
  const parts = sentence
    ? [sentence]
    : Object.entries(fields)
        .filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0))
        .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`);
  const exitList = Array.isArray(exits) ? exits.filter((x) => x && typeof x === 'object').map(describeExit) : [];
  if (exitList.length) parts.push(`exits: ${exitList.join(', ')}`);
  const output = Array.isArray(lines) ? lines.map(String) : [];
  return { event: event ?? 'entry', text: parts.join(' · '), at: typeof ts === 'number' ? ts / 1000 : null, output };
}

/** "code 1" or "SIGKILL", as a person says how a process ended. */
function describeExit(x) {
  return x.signal ? String(x.signal) : `code ${x.code}`;
}

/** An action log item ({entry, text}) as a list item; `open`: its last output lines shown, not folded. */
function logItem(logged, open = false) {
  const { event, text, at, output } = describeLog(logged);
  const item = el('li');
  item.dataset.event = event;
  item.append(el('time', '', at ? clock(at) : ''), el('b', '', event), el('span', '', text));
  if (output.length) {
    const details = el('details', 'last-lines');
    details.open = open;
    details.append(
      el('summary', '', `its last ${output.length === 1 ? 'line' : `${output.length} lines`}`),
      el('pre', '', output.join('\n')),
    );
    item.append(details);
  }
  return item;
}

function renderLog() {
  $('action-log').replaceChildren(
    ...model.actionLogs
      .slice(-200)
      .reverse()
      .map((item) => logItem(item)),
  );
}

function renderAll() {
  renderHeader();
  renderSummary();
  renderGrid();
  renderDetail();
  renderLog();
  renderRollout();
}

// ---------- the rolling restart: its progress, and pause, resume and cancel

const ROLLOUT_ACTIVE = ['restarting', 'pausing', 'paused'];

function renderRollout() {
  const r = model.rollout;
  const bar = $('rollout');
  // Shown while one runs; the outcome of the last is in the action log.
  bar.hidden = !r || !ROLLOUT_ACTIVE.includes(r.state);
  if (bar.hidden) return;
  bar.dataset.state = r.state;
  $('rollout-progress').max = r.total;
  $('rollout-progress').value = r.done;
  const where =
    r.state === 'paused'
      ? 'paused'
      : r.state === 'pausing'
        ? `pausing once cluster #${r.current} is back`
        : r.current === null
          ? ''
          : `cluster #${r.current} restarting`;
  $('rollout-text').textContent = `Rolling restart: ${r.done} of ${r.total} done${where ? ` · ${where}` : ''}`;
  $('rollout-pause').hidden = r.state !== 'restarting';
  $('rollout-resume').hidden = r.state === 'restarting';
}

function select(id) {
  model.selected = model.selected === id ? null : id;
  for (const [tid, tile] of tiles) tile.classList.toggle('selected', tid === model.selected);
  renderDetail();
  followOutput(model.selected);
  $('detail-charts').replaceChildren();
  renderCharts();
}

// ---------- the last hour: latency and guilds, for the bot and the selected cluster (GET /api/history)

// How often the supervisor samples (history_interval); the charts are asked for again at that pace.
let chartPeriodMs = 30_000;

/** The latency and guild sparklines of a series, into `box`; a gap where there was no current figure. */
function drawCharts(box, series, what) {
  chartPeriodMs = series.period_ms ?? chartPeriodMs;
  const size = { width: 200, height: 40 };
  box.innerHTML =
    sparkline(series, { ...size, field: 'latency_ms', title: `${what}: mean latency, last hour` }) +
    sparkline(series, { ...size, field: 'guilds', title: `${what}: guilds, last hour` });
}

async function renderCharts() {
  const selected = model.selected;
  const [bot, cluster] = await Promise.all(
    ['/api/history', selected === null ? null : `/api/clusters/${selected}/history`].map(async (path) => {
      const res = path && (await fetch(path).catch(() => null));
      return res?.ok ? res.json() : null;
    }),
  );
  if (bot) drawCharts($('bot-charts'), bot, 'the bot');
  if (cluster && model.selected === selected) drawCharts($('detail-charts'), cluster, `cluster #${selected}`);
}

function chartsEvery() {
  setTimeout(async () => {
    await renderCharts();
    chartsEvery();
  }, chartPeriodMs);
}

// ---------- the selected cluster's output (its recent lines, then each new one from the live stream)

const OUTPUT_LINES = 200;
let followed = null;

function outputLine(line) {
  const item = el('li', line.stream === 'stderr' ? 'stderr' : '');
  item.append(el('time', '', clock(line.at)), el('span', 'pid', String(line.pid)), el('span', 'text', line.text));
  return item;
}

function appendOutput(lines) {
  const list = $('detail-output');
  // Kept at the bottom while the reader is there; left alone when they scrolled up to read.
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.append(...lines.map(outputLine));
  while (list.children.length > OUTPUT_LINES) list.firstElementChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

async function followOutput(id) {
  if (followed !== null) socket?.send(JSON.stringify({ type: 'unfollow', id: followed }));
  followed = id;
  $('detail-output').replaceChildren();
  if (id === null) return;
  // Follow first, then ask for the recent lines: what comes meanwhile is held, and shown once.
  const early = [];
  outputSink = (line) => early.push(line);
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'follow', id }));
  const res = await fetch(`/api/clusters/${id}/logs?lines=${OUTPUT_LINES}`).catch(() => null);
  if (followed !== id) return;
  const recent = res?.ok ? (await res.json()).lines : [];
  const key = (l) => `${l.at} ${l.pid} ${l.stream} ${l.text}`;
  const seen = new Set(recent.map(key));
  appendOutput([...recent, ...early.filter((l) => !seen.has(key(l)))]);
  outputSink = (line) => appendOutput([line]);
}

let outputSink = () => {};

// ---------- the live stream

let socket = null;
let retryDelay = 500;

function setLink(state) {
  const link = $('link');
  link.dataset.link = state;
  link.textContent = { live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…' }[state] ?? state;
}

function apply(message) {
  if (message.type === 'snapshot') {
    model.seq = message.seq;
    model.phase = message.phase;
    model.bus = message.bus;
    model.gateway = message.gateway;
    model.clusters = new Map(message.clusters.map((c) => [c.id, c]));
    model.actionLogs = message.action_logs.map((entry, i) => ({ entry, text: message.action_log_texts?.[i] ?? null }));
    model.rollout = message.rollout ?? null;
    renderAll();
    return;
  }
  if (message.seq !== model.seq + 1) {
    // A gap: something was missed; start again from a fresh snapshot.
    socket?.send(JSON.stringify({ type: 'snapshot' }));
    return;
  }
  model.seq = message.seq;
  switch (message.type) {
    case 'cluster':
      model.clusters.set(message.cluster.id, message.cluster);
      renderTile(message.cluster);
      nextFrame(renderSummary);
      nextFrame(renderHeader);
      scheduleLayout();
      if (model.selected === message.cluster.id) renderDetail();
      break;
    case 'diagnostic': {
      const c = model.clusters.get(message.id);
      if (!c) break;
      c.last_diag = { at: message.at, health: message.health };
      c.health_fresh = message.fresh;
      c.health = message.summary;
      renderTile(c);
      nextFrame(renderSummary);
      if (model.sort === 'latency') scheduleLayout();
      if (model.selected === c.id) renderDetail();
      break;
    }
    case 'action_log':
      model.actionLogs.push({ entry: message.entry, text: message.text ?? null });
      if (model.actionLogs.length > 500) model.actionLogs.shift();
      $('action-log').prepend(logItem(model.actionLogs.at(-1)));
      while ($('action-log').children.length > 200) $('action-log').lastElementChild.remove();
      if (model.selected !== null && message.entry?.id === model.selected) renderDetail();
      break;
    case 'rollout':
      model.rollout = message.rollout;
      renderRollout();
      break;
    case 'phase':
      model.phase = message.phase;
      model.bus = message.bus;
      renderHeader();
      break;
    case 'gateway':
      model.gateway = message.gateway;
      renderHeader();
      break;
  }
}

async function connect() {
  setLink(socket ? 'reconnecting' : 'connecting');
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/ws`);
  socket = ws;
  let opened = false;
  ws.onopen = () => {
    opened = true;
    retryDelay = 500;
    // A new connection follows nothing yet: the open panel's cluster again, with its recent lines.
    if (followed !== null) followOutput(followed);
    setLink('live');
    $('unauthorized').hidden = true;
  };
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    // A followed cluster's output: this client's own, outside the seq.
    if (message.type === 'log') {
      if (message.id === followed) outputSink(message.line);
      return;
    }
    apply(message);
  };
  ws.onclose = async (event) => {
    if (socket !== ws) return;
    setLink('reconnecting');
    // 1013 (try again later): the supervisor has as many live clients as it takes.
    if (event.code === 1013 && event.reason) toast(event.reason, 'error');
    if (!opened) {
      // Refused at the upgrade: is it the token, or is the supervisor away?
      const probe = await fetch('/api/gateway').catch(() => null);
      if (probe?.status === 401) {
        $('unauthorized').hidden = false;
        // The config's oauth: the answer says where to log in with Discord.
        const login = (await probe.json().catch(() => ({}))).login;
        if (typeof login === 'string') {
          $('discord-login').hidden = false;
          $('discord-login').querySelector('a').href = `${login}?redirect=${encodeURIComponent(location.pathname)}`;
        }
      }
    }
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 5000);
  };
}

// ---------- commands

function toast(text, kind) {
  const box = $('toast');
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.hidden = true), 4000);
}

function confirmThen(text, action) {
  const dialog = $('confirm');
  $('confirm-text').textContent = text;
  dialog.returnValue = '';
  dialog.onclose = () => {
    if (dialog.returnValue === 'ok') action();
  };
  dialog.showModal();
}

async function post(path, done) {
  try {
    const response = await fetch(path, { method: 'POST' });
    const body = await response.json().catch(() => ({}));
    if (response.ok) toast(done, 'ok');
    else toast(body.error ?? `failed (${response.status})`, 'error');
  } catch (err) {
    toast(`the supervisor did not answer: ${err.message}`, 'error');
  }
}

for (const button of document.querySelectorAll('#detail [data-command]')) {
  button.addEventListener('click', () => {
    const c = model.clusters.get(model.selected);
    if (!c) return;
    const command = button.dataset.command;
    confirmThen(`${command[0].toUpperCase()}${command.slice(1)} cluster #${c.id} ${c.name} (${shardRange(c.shards)})?`, () =>
      post(`/api/clusters/${c.id}/${command}`, `${command}: cluster #${c.id}`),
    );
  });
}
$('rolling-restart').addEventListener('click', () =>
  confirmThen(`Restart every cluster, one at a time?`, () => post('/api/rolling-restart', 'rolling restart started')),
);
$('detail-close').addEventListener('click', () => select(model.selected));
$('search').addEventListener('input', (event) => {
  model.search = event.target.value;
  scheduleLayout();
  saveView();
});
for (const [id, key] of [
  ['sort', 'sort'],
  ['group-by', 'groupBy'],
]) {
  $(id).addEventListener('change', (event) => {
    model[key] = event.target.value;
    $('grid').scrollTop = 0;
    scheduleLayout();
    saveView();
  });
}
$('grid').addEventListener('scroll', () => nextFrame(paint), { passive: true });
window.addEventListener('resize', scheduleLayout);
$('next-problem').addEventListener('click', nextProblem);
for (const op of ['pause', 'resume', 'cancel']) {
  $(`rollout-${op}`).addEventListener('click', () =>
    op === 'cancel'
      ? confirmThen('Cancel the rolling restart? The clusters not yet restarted are left as they are.', () =>
          post('/api/rolling-restart/cancel', 'rolling restart cancelled'),
        )
      : post(`/api/rolling-restart/${op}`, `rolling restart: ${op === 'pause' ? 'pausing' : 'resumed'}`),
  );
}
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && model.selected !== null && !$('confirm').open) select(model.selected);
});

// Uptimes move on by themselves.
setInterval(() => {
  for (const c of model.clusters.values()) renderTileTimes(c);
}, 1000);

loadView();
connect();
renderCharts().then(chartsEvery);
