import { describe, expect, it } from 'vitest';
import { processesByCluster, recordFigure, watchOneProcessPerCluster } from '../helpers/faults.js';
import { redisHarness } from '../helpers/harness.js';
import { eventually, isAlive, runSupervisor, type RunningSupervisor } from '../helpers/supervisor.js';

/**
 * The supervisor's own life: shutdown finishes whatever its clusters are
 * doing, a run after a SIGKILL never runs a shard twice, and a second
 * supervisor on the same bot refuses to start.
 */

const harness = redisHarness('fault-life', { fixed_shard_count: 8, per_cluster: 2 });

/** Another run of `s`'s config, in its directory: as systemd's Restart= would start it. */
function again(s: RunningSupervisor, config: Record<string, unknown>, env: Record<string, string> = {}) {
  const next = runSupervisor({ redis: harness.redis.address, ...config }, env, [], { dir: s.dir });
  return next;
}

const alive = (pids: number[]) => pids.filter(isAlive);

describe('the supervisor itself', () => {
  for (const action of ['stop then SIGTERM', 'stop then restartproc'] as const) {
    it(`${action}: exits within kill_timeout + 1 s, no cluster process left`, async () => {
      const { s, bus } = await harness.supervise({ kill_timeout: 2 });
      expect((await bus.request('stop', { id: 0 })).output).toBe('ok');
      await s.waitForLog((l) => l.cluster === 0 && /^cluster process \d+ exited/.test(String(l.msg)));
      const t0 = Date.now();
      if (action === 'stop then SIGTERM') s.kill('SIGTERM');
      else expect((await bus.request('restartproc')).output).toBe('ok');
      const { code } = await s.exit;
      const took = Date.now() - t0;
      expect(code).toBe(action === 'stop then SIGTERM' ? 0 : 1);
      expect(took).toBeLessThan(2000 + 1000);
      expect(s.clusterPids()).toEqual([]);
      recordFigure(`${action} (kill_timeout 2 s)`, { exit_code: code!, exited_after_ms: took });
    });
  }

  for (const kind of ['raw Redis (Go-era)', 'mewld/client'] as const) {
    it(`SIGKILL of the supervisor, then a new run on the same config (${kind} clusters): never two processes on one shard set`, async () => {
      const module = kind === 'mewld/client' ? 'client_cluster.mjs' : 'cluster.mjs';
      const config = {
        module,
        ping_interval: 0.5,
        fixed_shard_count: 8,
        per_cluster: 2,
        redis_channel: `life-${kind.length}-${process.pid}`,
      };
      const first = runSupervisor({ redis: harness.redis.address, ...config });
      await first.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 4, 20_000);
      const orphans = [...processesByCluster(first).values()].flat();
      expect(orphans).toHaveLength(4);
      first.kill('SIGKILL');
      await first.exit;
      // The clusters outlive it (nothing kills them): what a new run must deal with.
      expect(alive(orphans)).toHaveLength(4);

      const second = again(first, config);
      const watch = watchOneProcessPerCluster(second);
      const t0 = Date.now();
      await second.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched' && x.at >= t0).length >= 4, 30_000);
      await new Promise((r) => setTimeout(r, 2000)); // steady: four diagnostic rounds
      const { samples, violations } = watch.stop();
      expect(violations).toEqual([]);
      expect(samples).toBeGreaterThan(50);
      expect(alive(orphans)).toEqual([]);
      const ended = await second.waitForLog((l) => /^ended \d+ cluster processes that an earlier run/.test(String(l.msg)));
      expect([...processesByCluster(second).values()].map((pids) => pids.length)).toEqual([1, 1, 1, 1]);
      second.kill('SIGTERM');
      await second.exit;
      recordFigure(`supervisor SIGKILLed and started again, ${kind} clusters`, {
        leftovers_ended: (ended.leftovers as unknown[]).length,
        invariant_samples: samples,
        two_processes_seen: violations.length,
      });
    });
  }

  it('a mewld/client cluster whose run was replaced leaves by itself, even when the new run could not end it (its run files lost)', async () => {
    const config = {
      module: 'client_cluster.mjs',
      ping_interval: 0.3,
      fixed_shard_count: 4,
      per_cluster: 2,
      redis_channel: `replaced-${process.pid}`,
    };
    const first = runSupervisor({ redis: harness.redis.address, ...config });
    await first.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 2, 20_000);
    const orphans = [...processesByCluster(first).values()].flat();
    first.kill('SIGKILL');
    await first.exit;
    // Another directory: another config file, and none of the first run's files.
    const second = runSupervisor({ redis: harness.redis.address, ...config });
    await second.waitForEvents((e) => e.filter((x) => x.event === 'all_clusters_launched').length === 2, 20_000);
    const left = await first.waitForEvents((e) => e.filter((x) => x.event === 'leaving').length === 2, 10_000);
    expect(left.filter((e) => e.event === 'leaving').map((e) => e.reason)).toEqual(['replaced', 'replaced']);
    await eventually(() => alive(orphans).length === 0, 5_000, 'the replaced clusters to exit');
    second.kill('SIGTERM');
    await second.exit;
  });

  it('a second supervisor on the same config refuses to start, naming the first; the first runs on untouched', async () => {
    const { s, statuses } = await harness.supervise();
    const before = [...processesByCluster(s).values()].flat();
    const second = runSupervisor(
      { redis: harness.redis.address, redis_channel: 'unused-by-the-first', fixed_shard_count: 8, per_cluster: 2 },
      {},
      [],
      { dir: s.dir },
    );
    const { code } = await second.exit;
    expect(code).toBe(1);
    expect(second.logs.some((l) => String(l.msg ?? l.raw).includes(`another supervisor runs ${s.configFile}: pid ${s.proc.pid}`))).toBe(
      true,
    );
    expect(second.events().filter((e) => e.event === 'start' && !before.includes(e.pid))).toEqual([]);
    expect(Object.keys(await statuses())).toHaveLength(4);
    expect([...processesByCluster(s).values()].flat()).toEqual(before);
  });

  it('a second supervisor on the same bus (another config file) refuses to start too', async () => {
    const { s, channel, statuses } = await harness.supervise();
    const before = [...processesByCluster(s).values()].flat();
    const second = runSupervisor({ redis: harness.redis.address, redis_channel: channel, fixed_shard_count: 8, per_cluster: 2 });
    const { code } = await second.exit;
    expect(code).toBe(1);
    expect(
      second.logs.some((l) =>
        String(l.msg ?? l.raw).includes(`another supervisor runs the bus ${channel} on this Redis: pid ${s.proc.pid}`),
      ),
    ).toBe(true);
    expect(second.events().filter((e) => e.event === 'start')).toEqual([]);
    expect(Object.keys(await statuses())).toHaveLength(4);
    expect([...processesByCluster(s).values()].flat()).toEqual(before);
  });
});
