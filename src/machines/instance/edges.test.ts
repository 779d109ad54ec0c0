import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { advance, fakeProcesses, underParent } from '../../../tests/helpers/machines.js';
import { instanceMachine, type InstanceSnapshot } from './machine.js';
import type { InstanceInput, InstanceTiming, RestartPolicy } from './types.js';

/**
 * Edges of the Instance machine that its other tests leave unchecked: exact
 * boundaries, tokens and nonces that belong to something else, and what an
 * operator's start clears.
 */

const TIMING: InstanceTiming = { pingInterval: 1000, pingTimeout: 500, launchTimeout: 5000, killTimeout: 2000, reconnectGrace: 3000 };
const RESTART: RestartPolicy = {
  backoffInitial: 100,
  backoffFactor: 2,
  backoffMax: 10_000,
  jitter: 0,
  resetAfter: 10_000,
  maxRestarts: 3,
  within: 60_000,
  noRestartExitCodes: [78],
};

function start({
  timing = {},
  restart = {},
  confirmOverdue = true,
}: { timing?: Partial<InstanceTiming>; restart?: Partial<RestartPolicy>; confirmOverdue?: boolean } = {}) {
  const clock = new SimulatedClock();
  const procs = fakeProcesses(clock);
  const input: InstanceInput = {
    cluster: { id: 0, name: 'Alpha', shards: [0, 1] },
    shardCount: 2,
    clusterCount: 1,
    timing: { ...TIMING, ...timing },
    restart: { ...RESTART, ...restart },
    nonceSalt: 'salt',
    seed: 1,
  };
  const { child, reports } = underParent(instanceMachine.provide({ actors: { clusterProcess: procs.logic } }), input, clock, {
    confirmOverdue,
  });
  const snap = () => child().getSnapshot() as InstanceSnapshot;
  const state = () => snap().value;
  const send = (event: Parameters<ReturnType<typeof child>['send']>[0]) => child().send(event);
  const tick = (ms: number) => advance(clock, ms);
  /** From idle or queued to running: the slot, then the launch_next. */
  const launch = () => {
    send({ type: 'slot.granted' });
    send({ type: 'bus.launchNext', at: clock.now() });
    expect(state()).toBe('running');
  };
  const lastDiagNonce = () => [...reports].reverse().find((r) => r.type === 'diag.request')?.nonce as string;
  const downs = () => reports.filter((r) => r.type === 'cluster.down');
  return { clock, tick, procs, snap, state, send, reports, launch, lastDiagNonce, downs };
}

// No diagnostic within these tests' time span: only crashes end a process.
const NO_PINGS = { pingInterval: 3_600_000 };

describe('restart.reset_after, at its boundary', () => {
  /** Up, a quick crash (attempt 1 after it), up again after the backoff: returns when the second run began. */
  function upAfterOneQuickCrash() {
    const t = start({ timing: NO_PINGS });
    t.tick(5000);
    t.launch();
    t.procs.exit(0, 1);
    expect(t.snap().context.restarts.backoffMs).toBe(100);
    t.tick(100);
    expect(t.state()).toBe('queued');
    t.launch();
    return { t, upAt: t.clock.now() };
  }

  it('a cluster up exactly reset_after ms before it crashes has its backoff reset', () => {
    const { t, upAt } = upAfterOneQuickCrash();
    t.tick(10_000);
    expect(t.clock.now() - upAt).toBe(10_000);
    t.procs.exit(0, 1);
    expect(t.state()).toBe('backoff');
    // Attempt 0 again: the initial backoff, not the doubled one.
    expect(t.snap().context.restarts.backoffMs).toBe(100);
    expect(t.snap().context.restarts.attempt).toBe(1);
  });

  it('a cluster up 1 ms less than reset_after keeps counting its quick crashes', () => {
    const { t } = upAfterOneQuickCrash();
    t.tick(9_999);
    t.procs.exit(0, 1);
    expect(t.state()).toBe('backoff');
    expect(t.snap().context.restarts.backoffMs).toBe(200);
    expect(t.snap().context.restarts.attempt).toBe(2);
  });

  it('a cluster that crashes before its launch_next never ran long enough, however late it crashes', () => {
    const t = start({ timing: { ...NO_PINGS, launchTimeout: 3_600_000 } });
    t.launch();
    t.procs.exit(0, 1);
    t.tick(100);
    t.send({ type: 'slot.granted' });
    // Long past reset_after since anything, but never up in this launch.
    t.tick(50_000);
    t.procs.exit(0, 1);
    expect(t.snap().context.restarts.backoffMs).toBe(200);
  });
});

describe('a backoff of 0', () => {
  it('restarts at once: queued for the slot as an automatic restart, without waiting for a timer', () => {
    const t = start({ restart: { backoffInitial: 0 } });
    t.launch();
    t.procs.exit(0, 1);
    expect(t.state()).toBe('queued');
    expect(t.reports.at(-1)).toEqual({ type: 'slot.request', id: 0, automatic: true });
  });

  it('a backoff of 1 ms does wait for its timer', () => {
    const t = start({ restart: { backoffInitial: 1 } });
    t.launch();
    t.procs.exit(0, 1);
    expect(t.state()).toBe('backoff');
    t.tick(1);
    expect(t.state()).toBe('queued');
  });
});

describe('diagnostic answers and catch-up tokens that belong to something else', () => {
  it('an answer with a wrong nonce is ignored while the answer is overdue too; the right one is taken', () => {
    const t = start({ confirmOverdue: false });
    t.launch();
    t.tick(1000);
    const nonce = t.lastDiagNonce();
    t.tick(500);
    expect(t.state()).toBe('diagOverdue');
    t.send({ type: 'diag.answer', nonce: `${nonce}x`, health: [], at: t.clock.now() });
    expect(t.state()).toBe('diagOverdue');
    expect(t.snap().context.diag.last).toBeNull();
    t.send({ type: 'diag.answer', nonce, health: [], at: t.clock.now() });
    expect(t.state()).toBe('running');
    expect(t.snap().context.diag.last).toEqual({ at: t.clock.now(), health: [] });
  });

  it('an overdue diagnostic is judged only on the catch-up for its own nonce, not an earlier one or a launch', () => {
    const t = start({ confirmOverdue: false });
    t.launch();
    // The first diagnostic is answered; the second is not.
    t.tick(1000);
    const first = t.lastDiagNonce();
    t.send({ type: 'diag.answer', nonce: first, health: [], at: t.clock.now() });
    t.tick(1000);
    const second = t.lastDiagNonce();
    expect(second).not.toBe(first);
    t.tick(500);
    expect(t.state()).toBe('diagOverdue');
    t.send({ type: 'bus.caughtUp', token: first });
    t.send({ type: 'bus.caughtUp', token: 'launch-1' });
    expect(t.state()).toBe('diagOverdue');
    expect(t.downs()).toEqual([]);
    t.send({ type: 'bus.caughtUp', token: second });
    expect(t.downs()).toMatchObject([{ reason: 'ping_timeout' }]);
  });

  it('an overdue launch is judged only on the catch-up for this launch, not an earlier launch or a diagnostic', () => {
    const t = start({ confirmOverdue: false });
    // Launch 1 crashes; launch 2 never says launch_next.
    t.launch();
    t.tick(1000);
    const nonce = t.lastDiagNonce();
    t.procs.exit(0, 1);
    t.tick(100);
    t.send({ type: 'slot.granted' });
    t.tick(5000);
    expect(t.state()).toBe('launchOverdue');
    expect(t.reports.at(-1)).toEqual({ type: 'bus.catchUp', id: 0, token: 'launch-2' });
    t.send({ type: 'bus.caughtUp', token: 'launch-1' });
    t.send({ type: 'bus.caughtUp', token: nonce });
    expect(t.state()).toBe('launchOverdue');
    t.send({ type: 'bus.caughtUp', token: 'launch-2' });
    expect(t.downs().at(-1)).toMatchObject({ reason: 'launch_timeout', launching: true });
  });
});

describe('restart.no_restart_exit_codes', () => {
  it('an exit code not in the list is restarted as usual', () => {
    const t = start();
    t.launch();
    t.procs.exit(0, 1);
    expect(t.state()).toBe('backoff');
  });

  it('a process judged dead by a ping timeout that then exits with a listed code is still restarted', () => {
    const t = start();
    t.launch();
    // It does not die of the SIGKILL the reap sends: it exits by itself, with 78, after it was judged.
    t.procs.unkillable.add(0);
    t.tick(1500);
    expect(t.state()).toBe('dead');
    t.procs.exit(0, 78);
    expect(t.snap().context.lastExit).toMatchObject({ code: 78 });
    expect(t.state()).toBe('backoff');
    expect(t.reports.some((r) => r.type === 'cluster.failed')).toBe(false);
  });

  it('a failed spawn after an exit with a listed code is retried: the old exit code does not count', () => {
    const t = start();
    t.launch();
    t.procs.exit(0, 78);
    expect(t.state()).toBe('failed');
    t.procs.unspawnable.add(0);
    t.send({ type: 'cluster.start' });
    t.send({ type: 'slot.granted' });
    expect(t.downs().at(-1)).toMatchObject({ reason: 'spawn_failed', exit: null });
    expect(t.state()).toBe('backoff');
  });
});

describe('cluster.down carries the exit only for an exit', () => {
  it('a ping timeout after an earlier crash reports no exit, not the earlier one', () => {
    const t = start();
    t.launch();
    t.procs.exit(0, 1);
    expect(t.downs()[0]).toMatchObject({ reason: 'exited', exit: { code: 1, signal: null } });
    t.tick(100);
    t.launch();
    t.tick(1500);
    expect(t.downs()).toHaveLength(2);
    expect(t.downs()[1]).toMatchObject({ reason: 'ping_timeout', exit: null });
  });
});

describe('reconnect_grace only when the bus was down', () => {
  it('a bus.up while the bus is already up, during a launch, gives no grace to the first diagnostic', () => {
    const t = start({ confirmOverdue: false });
    t.send({ type: 'slot.granted' });
    t.send({ type: 'bus.up' });
    t.send({ type: 'bus.launchNext', at: t.clock.now() });
    expect(t.snap().context.reconnecting).toBe(false);
    t.tick(1000);
    expect(t.state()).toBe('diagPending');
  });

  it('a bus that comes back during a launch gives the first diagnostic its grace', () => {
    const t = start({ confirmOverdue: false });
    t.send({ type: 'slot.granted' });
    t.send({ type: 'bus.down' });
    t.send({ type: 'bus.up' });
    t.send({ type: 'bus.launchNext', at: t.clock.now() });
    t.tick(3999);
    expect(t.state()).toBe('running');
    t.tick(1);
    expect(t.state()).toBe('diagPending');
  });

  it('a bus that goes down gives no grace by itself: only its coming back does', () => {
    const t = start({ confirmOverdue: false });
    t.send({ type: 'slot.granted' });
    t.send({ type: 'bus.down' });
    expect(t.snap().context.reconnecting).toBe(false);
  });
});

describe('an operator start of a failed cluster', () => {
  it('clears the failure: the restart budget and the backoff start afresh', () => {
    const t = start({ timing: NO_PINGS, restart: { noRestartExitCodes: [] } });
    t.launch();
    for (let i = 0; i < 3; i++) {
      t.procs.exit(0, 1);
      expect(t.state()).toBe('backoff');
      t.tick(t.snap().context.restarts.backoffMs);
      t.launch();
    }
    t.procs.exit(0, 1);
    expect(t.state()).toBe('failed');
    expect(t.snap().context.failedReason).toMatch(/max_restarts/);

    t.send({ type: 'cluster.start' });
    expect(t.state()).toBe('queued');
    expect(t.snap().context.failedReason).toBeNull();
    expect(t.snap().context.restarts).toMatchObject({ attempt: 0, times: [] });
    t.launch();
    // Three quick crashes are allowed again, from the initial backoff.
    const backoffs: number[] = [];
    for (let i = 0; i < 3; i++) {
      t.procs.exit(0, 1);
      expect(t.state()).toBe('backoff');
      backoffs.push(t.snap().context.restarts.backoffMs);
      t.tick(t.snap().context.restarts.backoffMs);
      t.launch();
    }
    expect(backoffs).toEqual([100, 200, 400]);
  });
});

describe('reports to the parent', () => {
  it('a restart asked of a cluster that is not running is reported as skipped', () => {
    const t = start();
    t.send({ type: 'cluster.restart' });
    expect(t.state()).toBe('idle');
    expect(t.reports).toEqual([{ type: 'cluster.restartSkipped', id: 0 }]);
  });

  it('without a clusterProcess actor provided, the machine fails and says what is missing', () => {
    const errors: unknown[] = [];
    const actor = createActor(instanceMachine, {
      input: {
        cluster: { id: 0, name: 'Alpha', shards: [0] },
        shardCount: 1,
        clusterCount: 1,
        timing: TIMING,
        restart: RESTART,
        nonceSalt: 'salt',
        seed: 1,
      },
    });
    actor.subscribe({ error: (err) => void errors.push(err) });
    actor.start();
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('instanceMachine needs a clusterProcess actor: provide one');
  });
});
