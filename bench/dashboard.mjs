// The dashboard at scale: N clusters of tests/fixtures/light_cluster.sh (each
// says launch_next and sleeps) on Redis, their diagnostics answered by
// tests/fixtures/fleet_stub.mjs, the dashboard in Debian's Chromium. Prints
// one JSON object and writes it to bench/results/<date>-dashboard-<N>.json.
//   node bench/dashboard.mjs [--clusters 1000]
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
/* global document -- the functions given to page.evaluate run in the browser. */
import { chromium } from 'playwright-core';
import { stringify } from 'yaml';
import { startFleetStub } from '../tests/fixtures/fleet_stub.mjs';
import { gitCommit, machine, now, procStats, ROOT, sleep, startRedis, until, writeJson } from './lib.mjs';

const { values: args } = parseArgs({ options: { clusters: { type: 'string', default: '1000' }, out: { type: 'string' } } });
const N = Number(args.clusters);
const redis = await startRedis();
const channel = 'bench-dashboard';
const stub = await startFleetStub({ url: `redis://${redis.address}`, channel, perCluster: 2 });
const dir = mkdtempSync(join(tmpdir(), 'mewld-bench-dashboard-'));
const config = {
  override_dir: join(ROOT, 'tests/fixtures'),
  interp: 'sh',
  module: 'light_cluster.sh',
  redis: redis.address,
  redis_channel: channel,
  fixed_shard_count: N * 2,
  per_cluster: 2,
  max_concurrency: 16,
  cluster_start_next_delay: 0,
  ping_interval: 5,
  ping_timeout: 10,
  web: { port: 0 },
};
writeFileSync(join(dir, 'config.yaml'), stringify(config));
const t0 = now();
const supervisor = spawn(process.execPath, [join(ROOT, 'dist/cli/index.js'), '--config', join(dir, 'config.yaml')], {
  cwd: dir,
  env: { ...process.env, XDG_RUNTIME_DIR: dir },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let output = '';
let launchedAt = null;
for (const stream of [supervisor.stdout, supervisor.stderr]) {
  stream.setEncoding('utf8');
  stream.on('data', (text) => {
    output += text;
    if (launchedAt === null && output.includes('all clusters launched')) launchedAt = now();
    if (output.length > 1e6) output = output.slice(-1e5);
  });
}
const url = await until(() => /(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(output)?.[1], 60_000, 'the dashboard URL');
await until(() => launchedAt, 300_000, `${N} clusters launched`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const page = await browser.newPage({ viewport: { width: 1360, height: 820 } });
const t1 = now();
await page.goto(url);
await page.waitForFunction((n) => document.querySelector('#summary [data-group="up"] b')?.textContent === String(n), N, {
  timeout: 60_000,
});
const firstRenderMs = now() - t1;
const inPage = await page.evaluate(() => ({
  tiles: document.querySelectorAll('.tile').length,
  elements: document.getElementsByTagName('*').length,
  pageHeight: document.documentElement.scrollHeight,
  heapMiB: performance.memory ? performance.memory.usedJSHeapSize / 2 ** 20 : null,
}));
const t2 = now();
await page.locator('#grid').evaluate((grid) => (grid.scrollTop = grid.scrollHeight));
await page.waitForFunction((id) => document.querySelector(`.tile[data-id="${id}"]`), N - 1);
const scrollMs = now() - t2;
// The supervisor over 20 s of diagnostic rounds (every 5 s), the dashboard connected.
const before = procStats(supervisor.pid);
await sleep(20_000);
const after = procStats(supervisor.pid);
await browser.close();
supervisor.kill('SIGTERM');
await new Promise((r) => supervisor.once('exit', r));
await stub.close();
redis.stop();

const result = {
  scenario: 'dashboard at scale',
  when: new Date().toISOString(),
  commit: gitCommit(),
  machine: machine(),
  config: { ...config, redis: 'a local redis-server', web: { port: 0 }, viewport: '1360x820', idle_s: 20 },
  clusters: N,
  launch_s: Math.round((launchedAt - t0) / 100) / 10,
  first_render_ms: Math.round(firstRenderMs),
  scroll_to_end_ms: Math.round(scrollMs),
  tiles_in_page: inPage.tiles,
  elements_in_page: inPage.elements,
  page_height_px: inPage.pageHeight,
  page_js_heap_mib: inPage.heapMiB && Math.round(inPage.heapMiB * 10) / 10,
  supervisor_rss_mib: Math.round(after.rssKiB / 102.4) / 10,
  supervisor_cpu_s_per_20s: Math.round((after.cpu - before.cpu) * 100) / 100,
  diagnostics_answered: stub.answered(),
};
console.log(JSON.stringify(result, null, 2));
writeJson(join(args.out ?? join(ROOT, 'bench/results'), `${result.when.slice(0, 10)}-dashboard-${N}.json`), result);
