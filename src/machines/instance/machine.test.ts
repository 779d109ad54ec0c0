import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { advance, fakeProcesses, underParent } from '../../../tests/helpers/machines.js';
import { INSTANCE_GROUPS } from '../../interfaces/clusterView.js';
import { backoffDelay } from './backoff.js';
import { instanceMachine, type InstanceSnapshot } from './machine.js';
import type { InstanceInput, RestartPolicy } from './types.js';
import { refusal, viewOf } from './view.js';

const timing = { pingInterval: 1000, pingTimeout: 500, launchTimeout: 5000, killTimeout: 2000, reconnectGrace: 3000 };
const restart: RestartPolicy = {
  backoffInitial: 100,
  backoffFactor: 2,
  backoffMax: 1000,
  jitter: 0,
  resetAfter: 10_000,
  maxRestarts: 3,
  within: 60_000,
  noRestartExitCodes: [78],
};

function start(overrides: Partial<InstanceInput> = {}) {
  const clock = new SimulatedClock();
  const procs = fakeProcesses(clock);
  const input: InstanceInput = {
    cluster: { id: 0, name: 'Alpha', shards: [0, 1] },
    shardCount: 2,
    clusterCount: 1,
    timing,
    restart,
    nonceSalt: 'salt',
    seed: 1,
    ...overrides,
  };
  const { child, reports } = underParent(instanceMachine.provide({ actors: { clusterProcess: procs.logic } }), input, clock);
  const snap = () => child().getSnapshot() as InstanceSnapshot;
  const state = () => snap().value;
  const send = (event: Parameters<ReturnType<typeof child>['send']>[0]) => child().send(event);
  const reportTypes = () => reports.map((r) => r.type);
  /** Brings the cluster to `running`, as its launch slot and launch_next would. */
  const launch = () => {
    send({ type: 'slot.granted' });
    send({ type: 'bus.launchNext', at: clock.now() });
  };
  const lastDiagNonce = () => [...reports].reverse().find((r) => r.type === 'diag.request')?.nonce as string;
  const tick = (ms: number) => advance(clock, ms);
  return { clock, tick, procs, snap, state, send, reports, reportTypes, launch, lastDiagNonce };
}

describe('instanceMachine', () => {
  it('launches: idle → starting → waitingLaunchNext → running, and reports up once', () => {
    const t = start();
    expect(t.state()).toBe('idle');
    t.send({ type: 'slot.granted' });
    expect(t.procs.commands.get(0)).toEqual([{ type: 'process.spawn' }]);
    expect(t.state()).toBe('waitingLaunchNext');
    expect(t.snap().context.pid).toBe(1000);
    t.send({ type: 'bus.launchNext', at: 5 });
    expect(t.state()).toBe('running');
    expect(t.reportTypes()).toEqual(['cluster.up']);
    // A duplicate launch_next changes nothing.
    t.send({ type: 'bus.launchNext', at: 6 });
    expect(t.state()).toBe('running');
    expect(t.reportTypes()).toEqual(['cluster.up']);
  });

  it('START queues for a launch slot instead of starting at once', () => {
    const t = start();
    t.send({ type: 'cluster.start' });
    expect(t.state()).toBe('queued');
    expect(t.reports).toEqual([{ type: 'slot.request', id: 0, automatic: false }]);
    expect(t.procs.commands.get(0)).toEqual([]);
    t.send({ type: 'slot.granted' });
    expect(t.state()).toBe('waitingLaunchNext');
  });

  it('diagnoses every ping_interval and goes back to running on the matching nonce', () => {
    const t = start();
    t.launch();
    t.tick(999);
    expect(t.state()).toBe('running');
    t.tick(1);
    expect(t.state()).toBe('diagPending');
    const nonce = t.lastDiagNonce();
    expect(nonce).toBe('salt-0-1');
    // An answer to someone else's (or an old) diagnostic does not count.
    t.send({ type: 'diag.answer', nonce: 'salt-0-0', health: [], at: 1 });
    expect(t.state()).toBe('diagPending');
    const health = [{ shard_id: 0, up: true, latency: 40, guilds: 10, users: 100 }];
    t.send({ type: 'diag.answer', nonce, health, at: 1000 });
    expect(t.state()).toBe('running');
    expect(t.snap().context.diag.last).toEqual({ at: 1000, health });
    t.tick(1000);
    expect(t.lastDiagNonce()).toBe('salt-0-2');
  });

  it('a diagnostic not answered within ping_timeout makes the cluster dead: killed, reaped, restarted', () => {
    const t = start();
    t.launch();
    t.tick(1000);
    expect(t.state()).toBe('diagPending');
    t.tick(499);
    expect(t.state()).toBe('diagPending');
    t.tick(1);
    // dead sent REAP; the fake kills the process and reports EXITED then REAPED.
    expect(t.procs.commands.get(0)!.at(-1)).toEqual({ type: 'process.reap' });
    expect(t.state()).toBe('backoff');
    expect(t.reports.find((r) => r.type === 'cluster.down')).toMatchObject({ reason: 'ping_timeout', launching: false });
    t.tick(100);
    expect(t.state()).toBe('queued');
    // A restart of its own, not an operator's: it may be held while the fleet's restarts are paused.
    expect(t.reports.at(-1)).toEqual({ type: 'slot.request', id: 0, automatic: true });
  });

  it('stays in dead until the process is gone', () => {
    const t = start();
    t.launch();
    t.procs.unkillable.add(0);
    t.tick(1500);
    expect(t.state()).toBe('dead');
    t.tick(600_000);
    expect(t.state()).toBe('dead');
    expect(t.procs.commands.get(0)!.filter((c) => c.type === 'process.spawn')).toHaveLength(1);
    t.procs.exit(0, null, 'SIGKILL');
    expect(t.state()).toBe('backoff');
  });

  it('an exit with code 0 is a death like any other', () => {
    const t = start();
    t.launch();
    t.procs.exit(0, 0);
    expect(t.reports.find((r) => r.type === 'cluster.down')).toMatchObject({
      reason: 'exited',
      exit: { code: 0, signal: null },
    });
    expect(t.state()).toBe('backoff');
    expect(viewOf(t.snap())).toMatchObject({ state: 'backoff', last_exit: { code: 0 }, down_reason: 'exited', backoff_ms: 100 });
  });

  it('a signal kills it too, in any live state', () => {
    for (const reach of ['waitingLaunchNext', 'running', 'diagPending'] as const) {
      const t = start();
      t.send({ type: 'slot.granted' });
      if (reach !== 'waitingLaunchNext') t.send({ type: 'bus.launchNext', at: 0 });
      if (reach === 'diagPending') t.tick(1000);
      expect(t.state()).toBe(reach);
      t.procs.exit(0, null, 'SIGKILL');
      expect(t.state()).toBe('backoff');
      expect(t.snap().context.lastExit).toMatchObject({ code: null, signal: 'SIGKILL' });
    }
  });

  it('no launch_next within launch_timeout: dead, reported as a failed launch', () => {
    const t = start();
    t.send({ type: 'slot.granted' });
    t.tick(4999);
    expect(t.state()).toBe('waitingLaunchNext');
    t.tick(1);
    expect(t.reports.find((r) => r.type === 'cluster.down')).toMatchObject({ reason: 'launch_timeout', launching: true });
    expect(t.procs.alive.get(0)).toBeNull();
    expect(t.state()).toBe('backoff');
  });

  it('a process that cannot be spawned is dead and retried', () => {
    const t = start();
    t.procs.unspawnable.add(0);
    t.send({ type: 'slot.granted' });
    expect(t.reports.find((r) => r.type === 'cluster.down')).toMatchObject({ reason: 'spawn_failed', error: 'spawn ENOENT' });
    expect(t.state()).toBe('backoff');
  });

  it('STOP: SIGTERM, stopped when the process exits, and no automatic restart', () => {
    const t = start();
    t.launch();
    t.send({ type: 'cluster.stop' });
    expect(t.procs.commands.get(0)!.at(-1)).toEqual({ type: 'process.signal', signal: 'SIGTERM' });
    expect(t.state()).toBe('stopped');
    expect(t.reportTypes()).toContain('cluster.stopped');
    expect(t.reportTypes()).not.toContain('cluster.down');
    t.tick(600_000);
    expect(t.state()).toBe('stopped');
    expect(t.procs.commands.get(0)!.filter((c) => c.type === 'process.spawn')).toHaveLength(1);
  });

  it('STOP of a process that ignores SIGTERM: SIGKILL after kill_timeout', () => {
    const t = start();
    t.launch();
    t.procs.stubborn.add(0);
    t.send({ type: 'cluster.stop' });
    expect(t.state()).toBe('stopping');
    t.tick(1999);
    expect(t.state()).toBe('stopping');
    t.tick(1);
    expect(t.procs.commands.get(0)!.at(-1)).toEqual({ type: 'process.signal', signal: 'SIGKILL' });
    expect(t.state()).toBe('stopped');
  });

  it('KILL skips the grace period', () => {
    const t = start();
    t.launch();
    t.procs.stubborn.add(0);
    t.send({ type: 'cluster.stop' });
    t.send({ type: 'cluster.kill' });
    expect(t.state()).toBe('stopped');
  });

  it('stop versus crash: a crash during stopping ends stopped, not restarted', () => {
    const t = start();
    t.launch();
    t.procs.stubborn.add(0);
    t.send({ type: 'cluster.stop' });
    t.procs.exit(0, 1);
    expect(t.state()).toBe('stopped');
    expect(t.reportTypes()).not.toContain('cluster.down');
  });

  it('START from stopped queues again; the restart budget is fresh', () => {
    const t = start();
    t.launch();
    t.send({ type: 'cluster.stop' });
    t.send({ type: 'cluster.start' });
    expect(t.state()).toBe('queued');
    t.send({ type: 'slot.granted' });
    expect(t.state()).toBe('waitingLaunchNext');
    expect(t.procs.commands.get(0)!.filter((c) => c.type === 'process.spawn')).toHaveLength(2);
    expect(viewOf(t.snap()).restarts).toBe(1);
  });

  it('cluster.restart: stops the process, then queues for a slot', () => {
    const t = start();
    t.launch();
    t.send({ type: 'cluster.restart' });
    expect(t.state()).toBe('queued');
    expect(t.reportTypes()).toEqual(['cluster.up', 'cluster.restarting', 'slot.request']);
    t.send({ type: 'slot.granted' });
    t.send({ type: 'bus.launchNext', at: 0 });
    expect(t.state()).toBe('running');
  });

  it('RESTART of a stubborn process escalates to SIGKILL; STOP during it turns it into a stop', () => {
    const t = start();
    t.launch();
    t.procs.stubborn.add(0);
    t.send({ type: 'cluster.restart' });
    expect(t.state()).toBe('restarting');
    t.send({ type: 'cluster.stop' });
    expect(t.state()).toBe('stopping');
    t.tick(2000);
    expect(t.state()).toBe('stopped');
  });

  it('STOP while dead: stopped once reaped, not restarted', () => {
    const t = start();
    t.launch();
    t.procs.stubborn.add(0);
    // Hang: diag times out; the stubborn process still dies to the SIGKILL of REAP.
    t.tick(1500);
    expect(t.state()).toBe('backoff');
    t.send({ type: 'cluster.stop' });
    expect(t.state()).toBe('stopped');
  });

  it('backoff grows on quick failures, then failed after max_restarts within the window', () => {
    const t = start();
    t.launch();
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      t.procs.exit(0, 1);
      expect(t.state()).toBe('backoff');
      delays.push(t.snap().context.restarts.backoffMs);
      t.tick(t.snap().context.restarts.backoffMs);
      expect(t.state()).toBe('queued');
      t.send({ type: 'slot.granted' });
    }
    expect(delays).toEqual([100, 200, 400]);
    t.procs.exit(0, 1);
    expect(t.state()).toBe('failed');
    const failed = t.reports.find((r) => r.type === 'cluster.failed');
    expect(failed).toMatchObject({ id: 0, why: expect.stringContaining('max_restarts') });
    expect(failed!.exits).toHaveLength(4);
    expect(failed!.lastLines).toEqual(['line from cluster 0']);
    // It stays down until an operator starts it.
    t.tick(600_000);
    expect(t.state()).toBe('failed');
    t.send({ type: 'cluster.start' });
    expect(t.state()).toBe('queued');
  });

  it('a run longer than reset_after resets the backoff', () => {
    const t = start();
    t.launch();
    t.procs.exit(0, 1);
    t.tick(100);
    t.send({ type: 'slot.granted' });
    t.procs.exit(0, 1);
    expect(t.snap().context.restarts.backoffMs).toBe(200);
    t.tick(200);
    t.send({ type: 'slot.granted' });
    t.send({ type: 'bus.launchNext', at: t.clock.now() });
    // Answer diagnostics for a while, longer than reset_after.
    for (let i = 0; i < 11; i++) {
      t.tick(1000);
      t.send({ type: 'diag.answer', nonce: t.lastDiagNonce(), health: [], at: t.clock.now() });
    }
    t.procs.exit(0, 1);
    expect(t.snap().context.restarts.backoffMs).toBe(100);
  });

  it('an exit code in no_restart_exit_codes goes straight to failed', () => {
    const t = start();
    t.launch();
    t.procs.exit(0, 78);
    expect(t.state()).toBe('failed');
    expect(t.snap().context.failedReason).toMatch(/no_restart_exit_codes/);
  });

  it('pings on a clock shared by every cluster: at the next multiple of ping_interval, whenever the cluster came up', () => {
    const t = start();
    t.tick(300);
    t.launch(); // up at 300
    t.tick(699);
    expect(t.state()).toBe('running');
    t.tick(1); // 1000, not 1300
    expect(t.state()).toBe('diagPending');
    t.tick(20);
    t.send({ type: 'diag.answer', nonce: t.lastDiagNonce(), health: [], at: t.clock.now() }); // answered at 1020
    t.tick(979);
    expect(t.state()).toBe('running');
    t.tick(1); // 2000
    expect(t.state()).toBe('diagPending');
  });

  it("the last answer is current only while it is the running process's and no round has been missed", () => {
    const t = start();
    t.launch();
    const answer = () => {
      t.tick(1000);
      t.send({
        type: 'diag.answer',
        nonce: t.lastDiagNonce(),
        health: [{ shard_id: 0, up: true, latency: 40, guilds: 1, users: 1 }],
        at: t.clock.now(),
      });
    };
    expect(t.snap().context.diag.fresh).toBe(false);
    answer();
    expect(t.snap().context.diag.fresh).toBe(true);
    // The bus goes down: the figures hold until a round passes with no way to ask.
    t.send({ type: 'bus.down' });
    expect(t.snap().context.diag.fresh).toBe(true);
    t.tick(1000);
    expect(t.state()).toBe('running');
    expect(t.snap().context.diag.fresh).toBe(false);
    t.send({ type: 'bus.up' });
    t.tick(1000 + 3000);
    t.send({ type: 'diag.answer', nonce: t.lastDiagNonce(), health: [], at: t.clock.now() });
    expect(t.snap().context.diag.fresh).toBe(true);
    // A new process: what the last one said is kept, but no longer current.
    t.send({ type: 'cluster.restart' });
    t.send({ type: 'slot.granted' });
    expect(t.state()).toBe('waitingLaunchNext');
    expect(t.snap().context.diag).toMatchObject({ fresh: false, last: { health: [] } });
  });

  it('counts each launch after the first by its cause: crash, hang, operator, rollout', () => {
    const t = start();
    const byCause = () => t.snap().context.restarts.byCause;
    t.launch();
    expect(byCause()).toEqual({ crash: 0, hang: 0, operator: 0, rollout: 0 });
    // A crash: restarted by the backoff.
    t.procs.exit(0, 1);
    t.tick(1000);
    t.send({ type: 'slot.granted' });
    t.send({ type: 'bus.launchNext', at: t.clock.now() });
    expect(byCause()).toEqual({ crash: 1, hang: 0, operator: 0, rollout: 0 });
    // A hang: no answer within ping_timeout.
    t.tick(2000);
    t.tick(1000);
    t.send({ type: 'slot.granted' });
    t.send({ type: 'bus.launchNext', at: t.clock.now() });
    expect(byCause()).toEqual({ crash: 1, hang: 1, operator: 0, rollout: 0 });
    // On purpose: an operator's restart, a rolling restart's, and a start after a stop.
    t.send({ type: 'cluster.restart' });
    t.send({ type: 'slot.granted' });
    t.send({ type: 'bus.launchNext', at: t.clock.now() });
    t.send({ type: 'cluster.restart', by: 'rollout' });
    t.send({ type: 'slot.granted' });
    t.send({ type: 'bus.launchNext', at: t.clock.now() });
    t.send({ type: 'cluster.stop' });
    t.send({ type: 'cluster.start' });
    t.send({ type: 'slot.granted' });
    expect(byCause()).toEqual({ crash: 1, hang: 1, operator: 2, rollout: 1 });
    expect(t.snap().context.launches).toBe(6);
  });

  it('goes on from the restart counts and last exits of earlier runs (its input), counting on from there', () => {
    const exits = [1, 2, 3, 4, 5, 6].map((at) => ({ code: at === 6 ? null : 1, signal: at === 6 ? 'SIGKILL' : null, at }));
    const t = start({ history: { restarts: { crash: 4, hang: 1, operator: 2, rollout: 0 }, exits } });
    // Kept as this run keeps them: the last five exits, the last one as last_exit.
    expect(viewOf(t.snap())).toMatchObject({
      restarts: 7,
      restarts_by_cause: { crash: 4, hang: 1, operator: 2, rollout: 0 },
      last_exit: { code: null, signal: 'SIGKILL', at: 6 },
    });
    expect(t.snap().context.recentExits).toEqual(exits.slice(-5));
    // The first launch of this run is no restart; a crash after it is counted on top.
    t.launch();
    expect(viewOf(t.snap()).restarts).toBe(7);
    t.procs.exit(0, 1);
    t.tick(1000);
    t.send({ type: 'slot.granted' });
    expect(viewOf(t.snap())).toMatchObject({ restarts: 8, restarts_by_cause: { crash: 5, hang: 1, operator: 2, rollout: 0 } });
    expect(t.snap().context.recentExits.map((e) => e.at)).toEqual([3, 4, 5, 6, t.snap().context.lastExit!.at]);
  });

  it('while the bus is down no diagnostic deadline runs', () => {
    const t = start();
    t.launch();
    t.tick(1000);
    expect(t.state()).toBe('diagPending');
    t.send({ type: 'bus.down' });
    expect(t.state()).toBe('running');
    t.tick(60_000);
    expect(t.state()).toBe('running');
    t.send({ type: 'bus.up' });
    t.tick(1000 + 3000);
    expect(t.state()).toBe('diagPending');
  });

  it('after the bus comes back, the first diagnostic waits reconnect_grace longer, then deadlines are as usual', () => {
    const t = start();
    t.launch();
    t.send({ type: 'bus.down' });
    t.tick(10_000);
    const before = t.reports.filter((r) => r.type === 'diag.request').length;
    t.send({ type: 'bus.up' });
    // The clusters reconnect at their own pace: no diagnostic for ping_interval + reconnect_grace.
    t.tick(1000 + 2999);
    expect(t.state()).toBe('running');
    expect(t.reports.filter((r) => r.type === 'diag.request')).toHaveLength(before);
    t.tick(1);
    expect(t.state()).toBe('diagPending');
    t.send({ type: 'diag.answer', nonce: t.lastDiagNonce(), health: [], at: t.clock.now() });
    t.tick(1000);
    expect(t.state()).toBe('diagPending');
    t.tick(500);
    expect(t.state()).toBe('backoff');
  });

  it('the launch timeout waits again while the bus is down', () => {
    const t = start();
    t.send({ type: 'slot.granted' });
    t.send({ type: 'bus.down' });
    t.tick(12_000);
    expect(t.state()).toBe('waitingLaunchNext');
    // Back up: a fresh, full launch_timeout.
    t.send({ type: 'bus.up' });
    t.tick(4999);
    expect(t.state()).toBe('waitingLaunchNext');
    t.tick(1);
    expect(t.state()).toBe('backoff');
  });

  it('jittered backoff stays within its bounds and is deterministic for a seed', () => {
    const policy = { ...restart, jitter: 0.2 };
    for (let attempt = 0; attempt < 8; attempt++) {
      const base = Math.min(1000, 100 * 2 ** attempt);
      expect(backoffDelay(policy, attempt, 0)).toBe(Math.round(base * 0.8));
      expect(backoffDelay(policy, attempt, 1)).toBe(Math.round(base * 1.2));
    }
    const delaysFor = (seed: number) => {
      const t = start({ seed, restart: policy });
      t.launch();
      t.procs.exit(0, 1);
      return t.snap().context.restarts.backoffMs;
    };
    expect(delaysFor(7)).toBe(delaysFor(7));
    expect(delaysFor(7)).toBeGreaterThanOrEqual(80);
    expect(delaysFor(7)).toBeLessThanOrEqual(120);
  });

  it('refuses conflicting operator commands with a reason', () => {
    const t = start();
    t.launch();
    expect(refusal('start', t.snap())).toMatch(/already running/);
    expect(refusal('stop', t.snap())).toBeNull();
    expect(refusal('restart', t.snap())).toBeNull();
    t.send({ type: 'cluster.stop' });
    expect(refusal('stop', t.snap())).toMatch(/already stopped/);
    expect(refusal('restart', t.snap())).toMatch(/not running/);
    expect(refusal('start', t.snap())).toBeNull();
  });

  it('each state has exactly one group tag, which every view shows: one source for what a state means', () => {
    for (const [name, node] of Object.entries(instanceMachine.root.states)) {
      const groups = node.tags.filter((tag) => (INSTANCE_GROUPS as readonly string[]).includes(tag));
      expect(groups, name).toHaveLength(1);
    }
    const t = start();
    t.launch();
    expect(viewOf(t.snap())).toMatchObject({ state: 'running', group: 'up', up: true, allowed: ['stop', 'restart'] });
    t.send({ type: 'cluster.stop' });
    expect(viewOf(t.snap())).toMatchObject({ state: 'stopped', group: 'stopped', up: false, allowed: ['start'] });
  });

  it('every state is reachable', () => {
    // Reports to the parent are left out: the graph walks the machine alone.
    const silent = Object.fromEntries(
      [
        'requestLaunchSlot',
        'reportUp',
        'reportDown',
        'reportRestarting',
        'reportRestartSkipped',
        'reportStopped',
        'reportFailed',
        'requestDiag',
        'catchUp',
        'obeyOperator',
      ].map((a) => [a, () => {}]),
    );
    const paths = getShortestPaths(instanceMachine.provide({ actions: silent }), {
      input: { cluster: { id: 0, name: 'A', shards: [0] }, shardCount: 1, clusterCount: 1, timing, restart, nonceSalt: 's', seed: 1 },
      events: [
        { type: 'slot.granted' },
        { type: 'cluster.start' },
        { type: 'cluster.stop' },
        { type: 'cluster.restart' },
        { type: 'bus.launchNext', at: 0 },
        { type: 'process.spawned', pid: 1, at: 0 },
        { type: 'process.spawnFailed', error: 'x', at: 0 },
        { type: 'process.exited', code: 1, signal: null, at: 0 },
        { type: 'process.exited', code: 78, signal: null, at: 0 },
        { type: 'process.reaped', at: 0 },
        { type: 'xstate.after.pingInterval.instance.running' } as never,
        { type: 'xstate.after.pingTimeout.instance.diagPending' } as never,
        { type: 'bus.caughtUp', token: 's-0-1' },
        { type: 'bus.caughtUp', token: 'launch-1' },
        { type: 'xstate.after.launchTimeout.instance.waitingLaunchNext' } as never,
      ],
      serializeState: (s) => JSON.stringify([s.value, s.context.lastExit?.code, s.context.stopRequested]),
      limit: 2000,
    });
    const reached = new Set(paths.map((p) => JSON.stringify(p.state.value)));
    const all = Object.keys(instanceMachine.root.states).map((s) => JSON.stringify(s));
    expect([...reached].sort()).toEqual(all.sort());
  });
});
