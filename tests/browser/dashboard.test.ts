/// <reference lib="dom" />
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
import { startFakeDiscord } from '../helpers/discord.js';
import { freePort } from '../helpers/redis.js';
import { eventually, ROOT, runSupervisor, stopAll, type RunningSupervisor } from '../helpers/supervisor.js';

/** The dashboard in headless Debian Chromium, driven by playwright-core, against a supervisor with real clusters. */

const ARTIFACTS = join(ROOT, 'tests/artifacts');
const running: RunningSupervisor[] = [];
let browser: Browser;
let s: RunningSupervisor;
let page: Page;

beforeAll(async () => {
  browser = await launchBrowser();
  s = runSupervisor({
    module: 'client_cluster.mjs',
    fixed_shard_count: 12,
    per_cluster: 2,
    names: ['Ayame', 'Botan', 'Chihiro', 'Daichi', 'Emi', 'Fumiko'],
    ping_interval: 0.5,
    history_interval: 0.5,
    web: { port: 0 },
  });
  running.push(s);
  await s.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 6);
  const web = await s.web();
  page = await browser.newPage({ viewport: { width: 1360, height: 820 } });
  await page.goto(`${web.base}?token=${web.token}`);
});

afterAll(async () => {
  await browser?.close();
  await stopAll(running);
});

/** Records every state a cluster's tile shows, however briefly, in window.__states[id]. */
async function watchTile(id: number) {
  await page.evaluate((id) => {
    const w = window as unknown as { __states: Record<number, string[]> };
    w.__states ??= {};
    const tile = document.querySelector(`.tile[data-id="${id}"]`) as HTMLElement;
    w.__states[id] = [tile.dataset.state!];
    new MutationObserver(() => {
      const list = w.__states[id]!;
      if (list.at(-1) !== tile.dataset.state) list.push(tile.dataset.state!);
    }).observe(tile, { attributes: true, attributeFilter: ['data-state'] });
  }, id);
  return () => page.evaluate((id) => (window as unknown as { __states: Record<number, string[]> }).__states[id]!, id);
}

/** Records every text the toast shows (it hides itself after 4 s), in window.__toasts. */
async function watchToast() {
  await page.evaluate(() => {
    const w = window as unknown as { __toasts: string[] };
    w.__toasts = [];
    const toast = document.querySelector('#toast') as HTMLElement;
    new MutationObserver(() => {
      if (!toast.hidden && w.__toasts.at(-1) !== toast.textContent) w.__toasts.push(toast.textContent ?? '');
    }).observe(toast, { attributes: true, childList: true, characterData: true, subtree: true });
  });
  return () => page.evaluate(() => (window as unknown as { __toasts: string[] }).__toasts);
}

describe('the dashboard', () => {
  it('shows every cluster, live, after trading the token for a cookie', async () => {
    await page.waitForFunction(() => document.querySelectorAll('.tile[data-group="up"]').length === 6);
    expect(new URL(page.url()).search).toBe(''); // the token left the address bar
    const names = await page.locator('.tile .tile-name').allTextContents();
    expect(names).toEqual(['Ayame', 'Botan', 'Chihiro', 'Daichi', 'Emi', 'Fumiko']);
    expect(await page.locator('#phase').textContent()).toBe('up');
    // A fixed shard count: no identify buckets or session starts to show.
    expect(await page.locator('#bot-summary').textContent()).toBe('6 clusters · 12 shards');
    expect(await page.locator('#link').getAttribute('data-link')).toBe('live');
    await page.waitForFunction(() => document.querySelectorAll('.tile-dots i.up').length === 12);
  });

  it('a killed cluster turns dead and comes back to running, without a reload', async () => {
    const states = await watchTile(4);
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));
    const victim = s.events().find((e) => e.event === 'start' && e.id === 4)!.pid;
    process.kill(victim, 'SIGKILL');
    const seen = await eventually(
      async () => {
        const seen = await states();
        return seen.includes('dead') && seen.at(-1) === 'running' ? seen : undefined;
      },
      15_000,
      'the tile to go dead and come back',
    );
    // Once running, the tile may already have shown a diagnostic round (diagPending and back) with ping_interval 0.5.
    const back = seen.slice(seen.indexOf('dead'));
    const firstRunning = back.indexOf('running');
    expect(back.slice(0, firstRunning + 1)).toEqual(['dead', 'backoff', 'queued', 'starting', 'waitingLaunchNext', 'running']);
    expect(back.slice(firstRunning + 1).filter((state) => state !== 'diagPending' && state !== 'running')).toEqual([]);
    expect(navigations).toEqual([]);
    expect(await page.locator('.tile[data-id="4"] .tile-restarts').textContent()).toBe('↻ 1');
    await page.waitForSelector('#action-log li[data-event="cluster_died"]');
  });

  it('restarts a cluster from its detail panel, behind a confirmation', async () => {
    const states = await watchTile(1);
    const toasts = await watchToast();
    // What the page asks of the API: a cancelled confirmation asks nothing.
    const posts: string[] = [];
    const onRequest = (request: import('playwright-core').Request) => {
      if (request.method() === 'POST') posts.push(new URL(request.url()).pathname);
    };
    page.on('request', onRequest);
    const before = s.events().filter((e) => e.event === 'start' && e.id === 1).length;
    await page.click('.tile[data-id="1"]');
    await expect.poll(() => page.locator('#detail-title').textContent()).toBe('#1 Botan');
    await page.waitForFunction(() => document.querySelectorAll('#detail-shards tr.up').length === 2);
    await page.click('#detail [data-command="restart"]');
    expect(await page.locator('#confirm').getAttribute('open')).not.toBeNull();
    expect(await page.locator('#confirm-text').textContent()).toBe('Restart cluster #1 Botan (shards 2–3)?');
    // Cancel first: nothing is sent (the POSTs are counted once the confirmed restart is done).
    await page.click('#confirm button[value="cancel"]');
    await page.waitForFunction(() => !(document.querySelector('#confirm') as HTMLDialogElement).open);
    await page.click('#detail [data-command="restart"]');
    await page.click('#confirm-ok');
    await s.waitForEvents((e) => e.filter((x) => x.event === 'start' && x.id === 1).length === before + 1);
    await eventually(
      async () => {
        const seen = await states();
        return seen.includes('restarting') && seen.at(-1) === 'running';
      },
      15_000,
      'the tile to restart',
    );
    // The toast came with the API's answer and hides itself after 4 s, maybe before the restart is done on a busy machine.
    await eventually(async () => (await toasts()).length > 0, 10_000, 'the toast');
    expect(await toasts()).toEqual(['restart: cluster #1']);
    page.off('request', onRequest);
    expect(posts).toEqual(['/api/clusters/1/restart']);
    expect(s.events().filter((e) => e.event === 'start' && e.id === 1)).toHaveLength(before + 1);
    await page.waitForSelector('#detail-transitions li .state-badge:text("restarting")');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.waitForTimeout(600);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png') });
  });

  it("a stopped cluster's last figures are not shown as current: its dots turn unknown and the guild total drops", async () => {
    const web = await s.web();
    const guilds = () => page.locator('#summary .count.metric:has-text("guilds") b').textContent();
    // 12 shards of 5 guilds each (the fixture's figures), all current.
    await expect.poll(guilds, { timeout: 15_000 }).toBe('60');
    const post = (path: string) => fetch(new URL(path, web.base), { method: 'POST', headers: web.auth });
    expect((await post('/api/clusters/5/stop')).status).toBe(200);
    await page.waitForFunction(() => document.querySelector('.tile[data-id="5"]')?.getAttribute('data-state') === 'stopped');
    expect(await page.locator('.tile[data-id="5"] .tile-dots i.unknown').count()).toBe(2);
    expect(await page.locator('.tile[data-id="5"] .tile-latency').textContent()).toBe('');
    expect(await page.locator('.tile[data-id="5"] .tile-dots i').first().getAttribute('title')).toMatch(
      /^shard 10: no current diagnostic \(the last, .* ago, is stale\)$/,
    );
    await expect.poll(guilds).toBe('50');
    expect((await post('/api/clusters/5/start')).status).toBe(200);
    await page.waitForFunction(() => document.querySelectorAll('.tile[data-id="5"] .tile-dots i.up').length === 2, undefined, {
      timeout: 15_000,
    });
    await expect.poll(guilds).toBe('60');
  });

  it("shows the selected cluster's output, and follows it live through a restart", async () => {
    const web = await s.web();
    await page.click('.tile[data-id="3"]');
    await expect.poll(() => page.locator('#detail-title').textContent()).toBe('#3 Daichi');
    const lines = () => page.locator('#detail-output li .text').allTextContents();
    await expect.poll(lines, { timeout: 15_000 }).toContain('cluster 3: connected, shards 6,7');
    const pids = () => page.locator('#detail-output li .pid').allTextContents();
    const [first] = await pids();
    expect((await fetch(new URL('/api/clusters/3/restart', web.base), { method: 'POST', headers: web.auth })).status).toBe(200);
    // The new process's line arrives over the live stream, with its pid: no reload, no second fetch.
    await expect.poll(async () => new Set(await pids()).size, { timeout: 15_000 }).toBe(2);
    expect((await lines()).filter((l) => l === 'cluster 3: connected, shards 6,7')).toHaveLength(2);
    expect((await pids())[0]).toBe(first);
    await page.click('#detail-close');
  });

  it("charts the last hour's latency and guilds, for the bot and for the selected cluster", async () => {
    // The page asks again every history_interval (0.5 s here): soon there are samples to draw.
    await page.waitForFunction(() => document.querySelectorAll('#bot-charts svg path.spark-line').length === 2, undefined, {
      timeout: 15_000,
    });
    const labels = await page.locator('#bot-charts svg').evaluateAll((svgs) => svgs.map((svg) => svg.getAttribute('aria-label')));
    expect(labels[0]).toMatch(/^the bot: mean latency, last hour: min [\d.]+ ms, max [\d.]+ ms, last [\d.]+ ms$/);
    // client_cluster.mjs: 5 guilds a shard, 12 shards; the clusters stopped and killed in earlier tests made dips.
    expect(labels[1]).toMatch(/^the bot: guilds, last hour: min \d+, max 60, last \d+$/);
    await page.click('.tile[data-id="3"]');
    await page.waitForFunction(() => document.querySelectorAll('#detail-charts svg').length === 2);
    expect(await page.locator('#detail-charts svg').first().getAttribute('aria-label')).toMatch(/^cluster #3: mean latency, last hour: /);
    await page.click('#detail-close');
  });

  it('finds clusters: the counters filter by state, the search box by id or name', async () => {
    const web = await s.web();
    const visible = () => page.locator('.tile:visible').evaluateAll((tiles) => tiles.map((t) => Number((t as HTMLElement).dataset.id)));
    expect((await fetch(new URL('/api/clusters/2/stop', web.base), { method: 'POST', headers: web.auth })).status).toBe(200);
    await page.waitForSelector('#summary button.count[data-group="stopped"]');
    await page.click('#summary button.count[data-group="stopped"]');
    await expect.poll(visible).toEqual([2]);
    expect(await page.locator('#shown').textContent()).toBe('1 of 6 shown');
    expect(await page.locator('#summary button.count[data-group="stopped"]').getAttribute('aria-pressed')).toBe('true');
    // Clicked again: every cluster.
    await page.click('#summary button.count[data-group="stopped"]');
    await expect.poll(visible).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await page.locator('#shown').textContent()).toBe('');
    // By name, whatever the case; by id, with or without #.
    await page.fill('#search', 'bOtAn');
    await expect.poll(visible).toEqual([1]);
    await page.fill('#search', '#4');
    await expect.poll(visible).toEqual([4]);
    await page.fill('#search', '');
    await expect.poll(visible).toEqual([0, 1, 2, 3, 4, 5]);
    expect((await fetch(new URL('/api/clusters/2/start', web.base), { method: 'POST', headers: web.auth })).status).toBe(200);
    await page.waitForFunction(() => document.querySelector('.tile[data-id="2"]')?.getAttribute('data-group') === 'up', undefined, {
      timeout: 15_000,
    });
  });

  it("on a phone, a tile's panel opens where the thumb is, over the grid, not below it", async () => {
    const web = await s.web();
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await phone.goto(`${web.base}?token=${web.token}`);
    await phone.waitForFunction(() => document.querySelectorAll('.tile[data-group="up"]').length === 6);
    await phone.locator('.tile[data-id="5"]').scrollIntoViewIfNeeded();
    await phone.locator('.tile[data-id="5"]').tap();
    await phone.waitForSelector('#detail:not([hidden])');
    const box = (await phone.locator('#detail').boundingBox())!;
    // In the viewport as it is, without scrolling: its top on screen, its bottom at the screen's bottom.
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.y).toBeLessThan(844);
    expect(Math.round(box.y + box.height)).toBe(844);
    expect(await phone.locator('#detail-title').textContent()).toBe('#5 Fumiko');
    await phone.close();
  });

  it("shows Discord's identify buckets and the session starts left, counted down live as clusters restart", async () => {
    const gatewayBot = JSON.parse(readFileSync(join(ROOT, 'tests/fixtures/discord/gateway-bot-large.json'), 'utf8'));
    const discord = await startFakeDiscord([
      { status: 200, body: { ...gatewayBot, shards: 8, session_start_limit: { ...gatewayBot.session_start_limit, remaining: 900 } } },
    ]);
    try {
      const other = runSupervisor({ module: 'client_cluster.mjs', per_cluster: 2, proxy: discord.url, token: 't', web: { port: 0 } });
      running.push(other);
      await other.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 4);
      const web = await other.web();
      const tab = await browser.newPage();
      await tab.goto(`${web.base}?token=${web.token}`);
      const summary = '4 clusters · 8 shards · 16 identify buckets · 892 session starts left';
      await tab.waitForFunction((text) => document.querySelector('#bot-summary')?.textContent === text, summary);
      process.kill(other.events().find((e) => e.event === 'start' && e.id === 1)!.pid as number, 'SIGKILL');
      await tab.waitForFunction(
        () => document.querySelector('#bot-summary')?.textContent?.endsWith(' 890 session starts left'),
        undefined,
        {
          timeout: 15_000,
        },
      );
      await tab.close();
    } finally {
      await discord.close();
    }
  });

  it('the inspector page says so when the hosted inspector cannot be reached, instead of an empty frame', async () => {
    const { startInspectorRelay } = await import('../../src/server/inspector.js');
    // Port 9 (discard): nothing answers there, as for a browser with no internet.
    const relay = await startInspectorRelay({ host: '127.0.0.1', port: 0 }, 'http://127.0.0.1:9/inspect');
    try {
      const tab = await browser.newPage();
      await tab.goto(relay.url, { waitUntil: 'domcontentloaded' });
      expect(await tab.locator('#unreachable').isHidden()).toBe(true);
      await tab.waitForSelector('#unreachable', { state: 'visible', timeout: 15_000 });
      expect(await tab.locator('#unreachable').textContent()).toMatch(
        /^The Stately inspector \(http:\/\/127\.0\.0\.1:9\/inspect\) has not answered/,
      );
      await tab.close();
    } finally {
      await relay.close();
    }
  });

  it("a failed cluster's entry shows its exits and last output lines as text, not as JSON", async () => {
    // cluster.mjs is written for Redis: on the embedded bus it dies at start (with FIXTURE_MODE crash, it would
    // anyway), printing an error each time; given up after the second.
    const failing = runSupervisor(
      { fixed_shard_count: 1, per_cluster: 1, web: { port: 0 }, restart: { max_restarts: 1, within: 60, backoff_initial: 0.1, jitter: 0 } },
      { FIXTURE_MODE: 'crash' },
    );
    running.push(failing);
    const web = await failing.web();
    const tab = await browser.newPage();
    await tab.goto(`${web.base}?token=${web.token}`);
    const entry = tab.locator('#action-log li[data-event="cluster_failed"]');
    await entry.waitFor({ timeout: 20_000 });
    expect(await entry.locator('span').textContent()).toMatch(/exits: code 1, code 1$/);
    expect(await entry.locator('span').textContent()).not.toMatch(/last_lines|\["/);
    await entry.locator('summary').click();
    // The lines as the cluster printed them, one under the other.
    const logs = (await (await fetch(new URL('/api/action-logs', web.base), { headers: web.auth })).json()) as {
      entries: { event: string; last_lines?: string[] }[];
    };
    const lastLines = logs.entries.find((e) => e.event === 'cluster_failed')!.last_lines!;
    expect(lastLines.length).toBeGreaterThan(0);
    expect(await entry.locator('pre').textContent()).toBe(lastLines.join('\n'));
    await tab.close();
  });

  it('reconnects by itself when the supervisor restarts', async () => {
    const port = await freePort();
    const config = {
      module: 'client_cluster.mjs',
      fixed_shard_count: 4,
      per_cluster: 2,
      web: { port, token: 'a-fixed-token-for-this-test' },
    };
    const first = runSupervisor(config);
    running.push(first);
    await first.web();
    const other = await browser.newPage();
    await other.goto(`http://127.0.0.1:${port}/?token=a-fixed-token-for-this-test`);
    await other.waitForFunction(() => document.querySelectorAll('.tile[data-group="up"]').length === 2);
    const navigations: string[] = [];
    other.on('framenavigated', (frame) => navigations.push(frame.url()));

    first.kill('SIGTERM');
    await first.exit;
    await other.waitForFunction(() => document.querySelector('#link')?.getAttribute('data-link') === 'reconnecting');

    // The same config started again (its file, its run directory): the dashboard's session outlives the run.
    const second = runSupervisor(config, {}, [], { dir: first.dir });
    running.push(second);
    await second.web();
    await other.waitForFunction(() => document.querySelector('#link')?.getAttribute('data-link') === 'live', undefined, {
      timeout: 15_000,
    });
    await other.waitForFunction(() => document.querySelectorAll('.tile[data-group="up"]').length === 2, undefined, { timeout: 15_000 });
    expect(navigations).toEqual([]);
    await other.close();
  });
});
