/// <reference lib="dom" />
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
// @ts-expect-error: plain JavaScript, shared with bench/dashboard.mjs.
import { startFleetStub } from '../fixtures/fleet_stub.mjs';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { eventually, ROOT, runSupervisor, stopAll, type RunningSupervisor } from '../helpers/supervisor.js';

/**
 * The dashboard of a bot of 1,000 clusters, in headless Chromium: real
 * processes (tests/fixtures/light_cluster.sh: each says launch_next and
 * sleeps), a real redis-server, diagnostics answered for all of them by
 * tests/fixtures/fleet_stub.mjs. Cluster 737 cannot start: it fails.
 */

const CLUSTERS = 1000;
const FAILING = 737;
const ARTIFACTS = join(ROOT, 'tests/artifacts');
const running: RunningSupervisor[] = [];
let redis: RedisServer;
let stub: { answered(): number; close(): Promise<void> };
let browser: Browser;
let s: RunningSupervisor;
let web: Awaited<ReturnType<RunningSupervisor['web']>>;
let page: Page;

beforeAll(async () => {
  redis = await startRedis();
  const channel = 'scale';
  stub = await startFleetStub({ url: redis.url, channel, perCluster: 2 });
  s = runSupervisor(
    {
      redis: redis.address,
      redis_channel: channel,
      interp: 'sh',
      module: 'light_cluster.sh',
      fixed_shard_count: CLUSTERS * 2,
      per_cluster: 2,
      max_concurrency: 16,
      cluster_start_next_delay: 0,
      ping_interval: 5,
      ping_timeout: 10,
      restart: { backoff_initial: 0.1, backoff_max: 1, jitter: 0, max_restarts: 1, within: 600 },
      web: { port: 0 },
    },
    { LIGHT_CRASH: String(FAILING) },
  );
  running.push(s);
  await s.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('all clusters had their launch'), 120_000);
  web = await s.web();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1360, height: 820 } });
  await page.goto(`${web.base}?token=${web.token}`);
  await page.waitForFunction((n) => document.querySelector('#summary [data-group="up"] b')?.textContent === String(n - 1), CLUSTERS, {
    timeout: 30_000,
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stopAll(running);
  await stub?.close();
  await redis?.stop();
});

const tileIds = (p: Page = page) => p.locator('.tile').evaluateAll((tiles) => tiles.map((t) => Number((t as HTMLElement).dataset.id)));

describe('the dashboard at 1,000 clusters', () => {
  it('puts in the page only the tiles on screen, in a grid that scrolls in its own box, and the page stays short', async () => {
    await page.waitForFunction(() => document.querySelector('#summary [data-group="failed"] b')?.textContent === '1');
    const onScreen = await tileIds();
    expect(onScreen.length).toBeGreaterThan(10);
    expect(onScreen.length).toBeLessThan(120);
    expect(onScreen.slice(0, 6)).toEqual([0, 1, 2, 3, 4, 5]);
    // The whole page, grid included, fits in about a screen and a half: the action log is a scroll away.
    expect(await page.evaluate(() => document.documentElement.scrollHeight)).toBeLessThan(820 * 1.6);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-1000.png') });

    // Scrolled to the end: the last clusters are in the page, the first are not.
    await page.locator('#grid').evaluate((grid) => (grid.scrollTop = grid.scrollHeight));
    await expect.poll(async () => (await tileIds()).includes(CLUSTERS - 1)).toBe(true);
    expect(await tileIds()).not.toContain(0);
    await page.locator('#grid').evaluate((grid) => (grid.scrollTop = 0));
    await expect.poll(async () => (await tileIds()).includes(0)).toBe(true);
  });

  it('finds one cluster by id, and the failed one by its counter: its panel shows its exits and last lines beside its tile', async () => {
    await page.fill('#search', '#512');
    await expect.poll(() => tileIds()).toEqual([512]);
    expect(await page.locator('#shown').textContent()).toBe(`1 of ${CLUSTERS} shown`);
    await page.fill('#search', '');

    await page.click('#summary button.count[data-group="failed"]');
    await expect.poll(() => tileIds()).toEqual([FAILING]);
    await page.click(`.tile[data-id="${FAILING}"]`);
    const entry = page.locator('#detail-log li[data-event="cluster_failed"]');
    await entry.waitFor();
    expect(await entry.locator('pre').textContent()).toContain(`cluster ${FAILING}: cannot log in (told to crash)`);
    expect(await entry.locator('span').first().textContent()).toMatch(/exits: code 1, code 1$/);
    const tile = (await page.locator(`.tile[data-id="${FAILING}"]`).boundingBox())!;
    const box = (await entry.boundingBox())!;
    // Side by side, both on screen.
    expect(box.x).toBeGreaterThan(tile.x + tile.width);
    for (const b of [tile, box]) expect(b.y + b.height).toBeLessThanOrEqual(820);
    await page.click('#summary button.count[data-group="failed"]');
    await page.click('#detail-close');
  });

  it('jumps to the next problem wherever it is in the grid, and shows a cluster output in its panel', async () => {
    await page.click('#next-problem');
    await page.waitForFunction((id) => document.querySelector('#detail-title')?.textContent?.startsWith(`#${id} `), FAILING);
    const tile = (await page.locator(`.tile[data-id="${FAILING}"]`).boundingBox())!;
    const grid = (await page.locator('#grid').boundingBox())!;
    expect(tile.y).toBeGreaterThanOrEqual(grid.y);
    expect(tile.y + tile.height).toBeLessThanOrEqual(grid.y + grid.height);

    await page.fill('#search', '#3');
    await page.click('.tile[data-id="3"]');
    await page.waitForFunction(() => document.querySelector('#detail-output')?.textContent?.includes('cluster 3: up, shards [6, 7]'));
    await page.fill('#search', '');
  });

  it('sorts and groups: by state, the failed section first; slowest first', async () => {
    await page.selectOption('#group-by', 'state');
    await expect.poll(() => page.locator('#grid-space > .section').first().textContent()).toBe('failed · 1');
    expect((await tileIds())[0]).toBe(FAILING);
    // The view is in the address: a reload (or the link, shared) shows it again.
    expect(new URL(page.url()).hash).toBe('#group=state');
    await page.reload();
    await expect.poll(() => page.locator('#grid-space > .section').first().textContent()).toBe('failed · 1');
    expect(await page.locator('#group-by').inputValue()).toBe('state');
    await page.selectOption('#group-by', 'none');
    await page.selectOption('#sort', 'latency');
    // The fleet stub's latencies are 30 + id % 70: 99 ms for 69, 139, 209, ...
    await expect.poll(async () => (await tileIds()).slice(0, 3)).toEqual([69, 139, 209]);
    await page.selectOption('#sort', 'id');
  });

  it('a rolling restart shows its progress, pauses once the cluster restarting is back, and is cancelled', async () => {
    const progress = () =>
      page.evaluate(() => ({
        text: document.querySelector('#rollout-text')?.textContent ?? '',
        shown: !(document.querySelector('#rollout') as HTMLElement).hidden,
        done: Number((document.querySelector('#rollout-progress') as HTMLProgressElement).value),
      }));
    await page.click('#rolling-restart');
    await page.click('#confirm-ok');
    await page.waitForFunction(() => Number((document.querySelector('#rollout-progress') as HTMLProgressElement).value) >= 3);
    expect((await progress()).text).toMatch(new RegExp(`^Rolling restart: \\d+ of ${CLUSTERS} done · cluster #\\d+ restarting$`));
    await page.click('#rollout-pause');
    await page.waitForFunction(() => document.querySelector('#rollout')?.getAttribute('data-state') === 'paused');
    const paused = await progress();
    expect(paused.text).toBe(`Rolling restart: ${paused.done} of ${CLUSTERS} done · paused`);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await progress()).done).toBe(paused.done);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-1000-rollout.png') });
    await page.click('#rollout-resume');
    await page.waitForFunction((n) => Number((document.querySelector('#rollout-progress') as HTMLProgressElement).value) > n, paused.done);
    await page.click('#rollout-cancel');
    await page.click('#confirm-ok');
    await page.waitForSelector('#rollout', { state: 'hidden' });
    await page.waitForSelector('#action-log li[data-event="rolling_restart_cancelled"]');
    const rollout = (await (await fetch(new URL('/api/rolling-restart', web.base), { headers: web.auth })).json()) as {
      rollout: { state: string; done: number; total: number };
    };
    expect(rollout.rollout).toMatchObject({ state: 'cancelled', total: CLUSTERS });
    expect(rollout.rollout.done).toBeLessThan(CLUSTERS / 2);
  });

  it('on a phone: a short page, a cluster found by search, its panel a sheet on screen with its output, a rolling restart started and cancelled', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await phone.goto(`${web.base}?token=${web.token}`);
    await phone.waitForFunction(() => document.querySelectorAll('.tile').length > 0);
    expect((await tileIds(phone)).length).toBeLessThan(40);
    expect(await phone.evaluate(() => document.documentElement.scrollHeight)).toBeLessThan(844 * 2);
    await phone.fill('#search', '#900');
    await eventually(async () => (await tileIds(phone)).join() === '900', 10_000, 'cluster 900 alone');
    await phone.locator('.tile[data-id="900"]').tap();
    await phone.waitForSelector('#detail:not([hidden])');
    const sheet = (await phone.locator('#detail').boundingBox())!;
    expect(sheet.y).toBeGreaterThanOrEqual(0);
    expect(Math.round(sheet.y + sheet.height)).toBe(844);
    // Its output, in the sheet.
    await phone.waitForFunction(() =>
      document.querySelector('#detail-output')?.textContent?.includes('cluster 900: up, shards [1800, 1801]'),
    );
    await phone.screenshot({ path: join(ARTIFACTS, 'dashboard-1000-phone.png') });
    await phone.locator('#detail-close').tap();
    // A rolling restart from the phone: its bar on screen, and cancelled from there.
    await phone.locator('#rolling-restart').tap();
    await phone.locator('#confirm-ok').tap();
    await phone.waitForSelector('#rollout:not([hidden])');
    const bar = (await phone.locator('#rollout').boundingBox())!;
    expect(bar.x).toBeGreaterThanOrEqual(0);
    expect(bar.x + bar.width).toBeLessThanOrEqual(390);
    await phone.screenshot({ path: join(ARTIFACTS, 'dashboard-1000-phone-rollout.png') });
    await phone.locator('#rollout-cancel').tap();
    await phone.locator('#confirm-ok').tap();
    await phone.waitForSelector('#rollout', { state: 'hidden' });
    await phone.close();
  });
});
