import { describe, expect, it } from 'vitest';
import { recordFigure, watchOneProcessPerCluster } from '../helpers/faults.js';
import { redisHarness } from '../helpers/harness.js';
import { eventually } from '../helpers/supervisor.js';

const harness = redisHarness('fault-chaos', { fixed_shard_count: 16, per_cluster: 2 });

function random(seed: number) {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

describe('operator commands at random', () => {
  it(
    'stop, start, restart and rollingrestart sent at random to 8 clusters: never two processes for one id, and all end running',
    { timeout: 120_000 },
    async () => {
      const { s, bus, statuses } = await harness.supervise({
        ping_interval: 0.5,
        kill_timeout: 1,
        cluster_start_next_delay: 0.02,
        restart: { backoff_initial: 0.05, max_restarts: 1000, fleet_crash_ratio: 1 },
      });
      const watch = watchOneProcessPerCluster(s);
      const next = random(4242);
      const sent: Record<string, number> = {};
      const replies: Record<string, number> = {};
      const until = Date.now() + 20_000;
      while (Date.now() < until) {
        const roll = next();
        const action = roll < 0.3 ? 'stop' : roll < 0.6 ? 'start' : roll < 0.97 ? 'restart' : 'rollingrestart';
        const id = Math.floor(next() * 8);
        sent[action] = (sent[action] ?? 0) + 1;
        const { output } = await bus.request(action, action === 'rollingrestart' ? undefined : { id });
        const kind = output === 'ok' ? 'ok' : 'refused';
        replies[kind] = (replies[kind] ?? 0) + 1;
        // Every answer is ok or a reason: nothing is silently dropped.
        expect(typeof output).toBe('string');
        await new Promise((r) => setTimeout(r, 20 + next() * 200));
      }
      // Bring back whatever is left stopped (a cluster still stopping is started once it has stopped).
      let last: Record<string, { status: string }> = {};
      await eventually(
        async () => {
          last = await statuses();
          for (const [id, c] of Object.entries(last)) {
            if (c.status === 'stopped' || c.status === 'failed') await bus.request('start', { id: Number(id) });
          }
          return Object.values(last).every((c) => c.status === 'running' || c.status === 'diagPending');
        },
        30_000,
        'every cluster running',
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(Object.fromEntries(Object.entries(last).map(([id, c]) => [id, c.status])))}`);
      });
      const { samples, violations } = watch.stop();
      expect(violations).toEqual([]);
      expect(replies.ok).toBeGreaterThan(20);
      recordFigure('stop/start/restart/rollingrestart at random for 20 s (8 clusters)', {
        commands: Object.entries(sent)
          .map(([a, n]) => `${n} ${a}`)
          .join(', '),
        accepted: replies.ok ?? 0,
        refused_with_reason: replies.refused ?? 0,
        invariant_samples: samples,
        two_processes_seen: violations.length,
      });
    },
  );
});
