import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus } from '../helpers/busClient.js';
import { recordFigure } from '../helpers/faults.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { runSupervisor, stopAll, type RunningSupervisor } from '../helpers/supervisor.js';

let redis: RedisServer;
const running: RunningSupervisor[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await stopAll(running);
  await redis.stop();
});

describe('the bus going away', () => {
  it('Redis down for longer than ping_interval + ping_timeout: no cluster restarted, diagnostics resume', async () => {
    const channel = `outage-${process.pid}`;
    const s = runSupervisor({
      redis: redis.address,
      redis_channel: channel,
      fixed_shard_count: 8,
      per_cluster: 2,
      ping_interval: 1,
      ping_timeout: 1,
      bus_reconnect_grace: 2,
    });
    running.push(s);
    await s.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 4);
    await s.waitForEvents((e) => new Set(e.filter((x) => x.event === 'diag').map((x) => x.id)).size === 4);
    const startsBefore = s.events().filter((e) => e.event === 'start').length;

    const down = Date.now();
    await redis.stop();
    await s.waitForLog((l) => l.msg === 'the bus is down: diagnostics paused');
    const noticedAfter = Date.now() - down;
    await new Promise((r) => setTimeout(r, 4000)); // twice ping_interval + ping_timeout
    await redis.restart();
    const up = Date.now();
    await s.waitForLog((l) => l.msg === 'the bus is back: diagnostics resume', 15_000);
    const resumedAfter = Date.now() - up;
    const events = await s.waitForEvents(
      (e) => new Set(e.filter((x) => x.event === 'diag' && x.at > up).map((x) => x.id)).size === 4,
      15_000,
    );
    const firstDiag = Math.min(...events.filter((e) => e.event === 'diag' && e.at > up).map((e) => e.at)) - up;
    // Nothing was restarted because of the outage.
    await new Promise((r) => setTimeout(r, 2500));
    // Each part named, so that a failure says which cluster went and why.
    expect({
      starts: s.events().filter((e) => e.event === 'start').length,
      down: s.logs.filter((l) => /is down \(/.test(String(l.msg))).map((l) => l.msg),
    }).toEqual({ starts: startsBefore, down: [] });
    const bus = await connectBus(redis.url, channel);
    const statuses = (await bus.request('statuses')).output as Record<string, { restarts: number; status: string }>;
    bus.close();
    expect(Object.values(statuses).map((c) => c.restarts)).toEqual([0, 0, 0, 0]);
    recordFigure('Redis stopped for 4 s (ping_interval 1 s, ping_timeout 1 s, bus_reconnect_grace 2 s)', {
      outage_noticed_after_ms: noticedAfter,
      bus_back_after_ms: resumedAfter,
      first_diag_after_ms: firstDiag,
      clusters_restarted: 0,
    });
  });

  it('Redis unreachable when the supervisor starts: nothing is launched until it is up, then every cluster is, and none is killed', async () => {
    const channel = `late-${process.pid}`;
    await redis.stop();
    const s = runSupervisor({
      redis: redis.address,
      redis_channel: channel,
      fixed_shard_count: 4,
      per_cluster: 2,
      launch_timeout: 2,
      cluster_start_next_delay: 0.1,
    });
    running.push(s);
    await s.waitForLog((l) => l.msg === 'the bus is down: no cluster is launched until it is up');
    await new Promise((r) => setTimeout(r, 3000)); // longer than launch_timeout
    expect(s.events().filter((e) => e.event === 'start')).toEqual([]);
    await redis.restart();
    await s.waitForLog((l) => l.msg === 'the bus is up', 15_000);
    await s.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 2, 15_000);
    await new Promise((r) => setTimeout(r, 2500)); // a launch_timeout more: no cluster was waiting for a lost launch_next
    expect(
      s
        .events()
        .filter((e) => e.event === 'start')
        .map((e) => e.id),
    ).toEqual([0, 1]);
    expect(s.logs.some((l) => /is down \(/.test(String(l.msg)))).toBe(false);
  });
});
