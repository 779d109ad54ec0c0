import { describe, expect, it } from 'vitest';
import { redisHarness } from '../helpers/harness.js';
import { eventually, isAlive } from '../helpers/supervisor.js';

const harness = redisHarness('faults', { fixed_shard_count: 4, per_cluster: 2 });

describe('faults', () => {
  it('kill -9 of a cluster: seen at once, and the cluster comes back', async () => {
    const { s, bus, statuses } = await harness.supervise();
    const victim = (await statuses())['1']!.pid!;
    const t0 = Date.now();
    process.kill(victim, 'SIGKILL');
    await s.waitForLog((l) => l.msg === 'cluster 1 is down (killed by SIGKILL)');
    const events = await s.waitForEvents((e) => e.filter((x) => x.event === 'launch_next' && x.id === 1).length === 2);
    const replacement = events.filter((e) => e.event === 'start' && e.id === 1)[1]!;
    expect(replacement.pid).not.toBe(victim);
    // Noticed at once: the supervisor spawns the replacement after the backoff (0.1 s), not a ping interval later
    // (when it spawned it, by its log: the new process's own start event comes later, the later the busier the machine).
    const forked = s.logs.find((l) => l.cluster === 1 && l.pid === replacement.pid && typeof l.forked_at === 'number')!;
    expect((forked.forked_at as number) - t0).toBeLessThan(1000);
    await eventually(async () => (await statuses())['1']!.status === 'running', undefined, 'cluster 1 running');
    const after = await statuses();
    expect(after['1']).toMatchObject({ restarts: 1, last_exit: { code: null, signal: 'SIGKILL' } });
    expect(after['0']!.restarts).toBe(0);
    bus.close();
  });

  it('kill -9 of a cluster leaves nothing of it: what it started (its process group) is killed too', async () => {
    const { s, bus, status } = await harness.supervise({}, { FIXTURE_GRANDCHILD_0: '1' });
    const victim = (await status(0)).pid!;
    const helper = s.events().find((e) => e.event === 'grandchild' && e.pid === victim)!.child as number;
    expect(isAlive(helper)).toBe(true);
    process.kill(victim, 'SIGKILL');
    await s.waitForEvents((e) => e.some((x) => x.event === 'start' && x.id === 0 && x.pid !== victim));
    await eventually(() => !isAlive(helper), 5000, `the process cluster 0 started (pid ${helper}) to be gone`);
    bus.close();
  });

  it('a cluster that stops answering diagnostics (SIGSTOP) is restarted after ping_interval + ping_timeout, and the hung process is gone', async () => {
    const { s, bus, statuses, channel } = await harness.supervise({ ping_interval: 1, ping_timeout: 1 });
    const victim = (await statuses())['0']!.pid!;
    const t0 = Date.now();
    process.kill(victim, 'SIGSTOP');
    // No bound here: the bound is on when the replacement was forked, read from the log below.
    const events = await s.waitForEvents((e) => e.filter((x) => x.event === 'start' && x.id === 0).length === 2);
    // When the supervisor spawned the replacement (its own start event comes later, the later the busier the machine).
    const replacement = events.filter((e) => e.event === 'start' && e.id === 0)[1]!.pid;
    const forked = s.logs.find((l) => l.cluster === 0 && l.pid === replacement && typeof l.forked_at === 'number')!;
    const elapsed = (forked.forked_at as number) - t0;
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(3500);
    expect(isAlive(victim)).toBe(false);
    expect(s.logs.some((l) => l.msg === 'cluster 0 is down (no answer to a diagnostic within ping_timeout)')).toBe(true);
    const actionLog = (await harness.redis.client().lrange(`${channel}/actlogs`, 0, -1)).map(
      (r) => JSON.parse(r) as { event: string; id?: number },
    );
    expect(actionLog).toContainEqual(expect.objectContaining({ event: 'ping_failure', id: 0 }));
    bus.close();
  });

  it('a cluster that exits with code 0 is noticed and restarted', async () => {
    const { s, bus, statuses } = await harness.supervise({}, { FIXTURE_MODE_1: 'exit0', FIXTURE_EXIT_AFTER_MS: '300' });
    await s.waitForEvents((e) => e.filter((x) => x.event === 'start' && x.id === 1).length >= 2);
    await s.waitForLog((l) => l.msg === 'cluster 1 is down (exited with code 0)');
    const status = (await statuses())['1']!;
    expect(status.restarts).toBeGreaterThanOrEqual(1);
    bus.close();
  });

  it('a cluster that never sends launch_next is given up on after launch_timeout; the launch goes on', async () => {
    const { s, bus, statuses } = await harness.supervise(
      { launch_timeout: 1, restart: { backoff_initial: 5, jitter: 0 } },
      { FIXTURE_MODE_0: 'silent' },
      { waitForLaunch: false },
    );
    // No bound on the whole launch (slow to start on a loaded machine): the bound is between the two spawns, below.
    await s.waitForEvents((e) => e.some((x) => x.event === 'launch_next' && x.id === 1));
    // When the supervisor spawned each: cluster 1 only after cluster 0's launch_timeout.
    const spawnedAt = (id: number) =>
      s.logs.find((l) => l.cluster === id && /^cluster process \d+ started$/.test(String(l.msg)))!.time as number;
    expect(spawnedAt(1) - spawnedAt(0)).toBeGreaterThanOrEqual(1000);
    await s.waitForLog((l) => l.msg === 'cluster 0 is down (no launch_next within launch_timeout)');
    // Said as it goes dead; it waits in backoff (5 s) once its process is gone.
    await eventually(async () => (await statuses())['0']!.status === 'backoff', undefined, 'cluster 0 in backoff');
    bus.close();
  });

  it('1,000 malformed messages on the channel leave the supervisor up and its answers correct', async () => {
    const { s, bus, statuses } = await harness.supervise();
    const before = await statuses();
    const garbage = [
      '{',
      'null',
      '[]',
      '"launcher"',
      '{"scope":"launcher"}',
      '{"scope":"launcher","action":null}',
      '{"scope":"launcher","action":"stop"}',
      '{"scope":"launcher","action":"stop","args":{"id":"0"}}',
      '{"scope":"launcher","action":"stop","args":{"id":1e309}}',
      '{"scope":"launcher","action":"start","args":[]}',
      '{"scope":"launcher","action":"launch_next","args":{"id":-5}}',
      '{"scope":"launcher","action":"launch_next","args":{"id":99999}}',
      '{"scope":"launcher","action":"diag","output":"not json"}',
      '{"scope":"launcher","action":"diag","output":{"Nonce":"unknown","Data":[]}}',
      '{"scope":"launcher","action":"action_logs"}',
      '{"scope":"launcher","action":"action_logs","data":"text"}',
      '{"scope":"launcher","action":"__proto__","args":{"id":0}}',
      '{"scope":"launcher","action":"constructor"}',
      `{"scope":"launcher","action":"statuses","pad":"${'x'.repeat(2_000_000)}"}`,
    ];
    for (let i = 0; i < 1000; i++) await bus.publish(garbage[i % garbage.length]!);
    await bus.publish({ scope: 'launcher', action: 'stop', args: { id: 'x' }, command_id: 'bad-1' });
    expect(await eventually(() => bus.messages.find((m) => m.json?.command_id === 'bad-1'))).toBeTruthy();
    const after = await statuses();
    expect(s.proc.exitCode).toBeNull();
    for (const id of ['0', '1']) {
      expect(after[id]!.pid).toBe(before[id]!.pid);
      expect(after[id]!.restarts).toBe(0);
    }
    expect((await bus.request('num_processes')).output).toEqual({ clusters: 2, shards: 4 });
    // Each rejection is logged, but a flood of them costs a few lines, not a thousand.
    const rejected = s.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('rejected a message on the bus')).length;
    expect(rejected).toBeGreaterThan(0);
    expect(rejected).toBeLessThanOrEqual(10);
    bus.close();
  });
});
