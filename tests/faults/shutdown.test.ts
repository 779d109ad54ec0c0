import { describe, expect, it } from 'vitest';
import { recordFigure } from '../helpers/faults.js';
import { redisHarness } from '../helpers/harness.js';

const harness = redisHarness('fault-term', { fixed_shard_count: 8, per_cluster: 2 });

describe('graceful shutdown', () => {
  it('SIGTERM during a rolling restart: exits 0 within kill_timeout and a margin, with no cluster process left', async () => {
    const { s, bus } = await harness.supervise({ kill_timeout: 1.5 }, { FIXTURE_START_MS: '400', FIXTURE_MODE_2: 'ignore-sigterm' });
    expect((await bus.request('rollingrestart')).output).toBe('ok');
    // Wait until the rolling restart is under way: cluster 0 is starting again.
    await s.waitForEvents((e) => e.filter((x) => x.event === 'start' && x.id === 0).length === 2);
    expect(s.clusterPids()).toHaveLength(4);
    const t0 = Date.now();
    s.kill('SIGTERM');
    const { code } = await s.exit;
    const elapsed = Date.now() - t0;
    expect(code).toBe(0);
    expect(elapsed).toBeGreaterThanOrEqual(1400); // cluster 2 ignores SIGTERM: it waited for kill_timeout
    expect(elapsed).toBeLessThan(1500 + 2000);
    expect(s.clusterPids()).toEqual([]);
    // Every cluster's process ended after the signal (one that was still booting may die before it can record its SIGTERM).
    const ended = s.logs.filter((l) => (l.time as number) >= t0 && /^cluster process \d+ exited/.test(String(l.msg))).map((l) => l.cluster);
    expect([...new Set(ended)].sort()).toEqual([0, 1, 2, 3]);
    recordFigure('SIGTERM to the supervisor during a rolling restart (kill_timeout 1.5 s, one cluster ignores SIGTERM)', {
      exit_code: code!,
      exited_after_ms: elapsed,
      processes_left: 0,
    });
  });

  it('a second SIGTERM kills at once', async () => {
    const { s } = await harness.supervise({ kill_timeout: 30 }, { FIXTURE_MODE: 'ignore-sigterm' });
    const t0 = Date.now();
    s.kill('SIGTERM');
    await s.waitForLog((l) => l.msg === 'shutting down: stopping every cluster');
    s.kill('SIGTERM');
    const { code } = await s.exit;
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(s.clusterPids()).toEqual([]);
  });

  it('shutdown on the bus during a launch: the same, exit 0', async () => {
    const { s, bus } = await harness.supervise({}, { FIXTURE_START_MS: '1000' }, { waitForLaunch: false });
    await s.waitForEvents((e) => e.some((x) => x.event === 'start' && x.id === 1));
    expect((await bus.request('shutdown')).output).toBe('ok');
    expect((await s.exit).code).toBe(0);
    expect(s.clusterPids()).toEqual([]);
  });
});
