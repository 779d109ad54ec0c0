import { describe, expect, it } from 'vitest';
import { processesByCluster, recordFigure, median, percentile, watchOneProcessPerCluster } from '../helpers/faults.js';
import { redisHarness } from '../helpers/harness.js';
import { eventually } from '../helpers/supervisor.js';

const harness = redisHarness('fault-kill', { fixed_shard_count: 16, per_cluster: 2 });

/** A small deterministic PRNG, so that a failing run can be replayed. */
function random(seed: number) {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

describe('kill -9, again and again', () => {
  it('50 kills of random clusters: each comes back, and no cluster ever has two processes', async () => {
    const { s, statuses } = await harness.supervise({
      ping_interval: 1,
      // Fleet protection off: fifty deaths in a few seconds would rightly pause restarts.
      restart: { backoff_initial: 0, backoff_max: 1, reset_after: 1, max_restarts: 1000, within: 60, jitter: 0, fleet_crash_ratio: 1 },
    });
    const watch = watchOneProcessPerCluster(s);
    const next = random(20261126);
    const forks: number[] = [];
    const ready: number[] = [];
    for (let round = 0; round < 50; round++) {
      const id = Math.floor(next() * 8);
      const [victim] = processesByCluster(s).get(id) ?? [];
      expect(victim, `cluster ${id} has a process before round ${round}`).toBeDefined();
      const t0 = Date.now();
      process.kill(victim!, 'SIGKILL');
      const started = await s.waitForLog(
        (l) => l.cluster === id && (l.time as number) >= t0 && /^cluster process \d+ started$/.test(String(l.msg)),
      );
      forks.push((started.time as number) - t0);
      const pid = started.pid as number;
      const up = await s.waitForEvents((e) => e.some((x) => x.event === 'launch_next' && x.pid === pid));
      ready.push(up.find((x) => x.event === 'launch_next' && x.pid === pid)!.at - t0);
    }
    await eventually(
      async () => Object.values(await statuses()).every((c) => c.status === 'running' || c.status === 'diagPending'),
      10_000,
      'every cluster running',
    );
    const { samples, violations } = watch.stop();
    expect(violations).toEqual([]);
    expect(samples).toBeGreaterThan(100);
    expect(Object.values(await statuses()).reduce((n, c) => n + c.restarts, 0)).toBe(50);
    recordFigure('kill -9 of a cluster (50 times, 8 clusters, backoff 0)', {
      fork_median_ms: median(forks),
      fork_p95_ms: percentile(forks, 95),
      ready_median_ms: median(ready),
      invariant_samples: samples,
      two_processes_seen: violations.length,
    });
    // 50 rounds of kill, restart, ready: about 30 s on an idle machine, and twice that beside two CPU burners.
  }, 180_000);
});
