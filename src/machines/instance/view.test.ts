import { describe, expect, it } from 'vitest';
import type { ClusterAction } from '../../interfaces/commands.js';
import { currentHealth } from '../../interfaces/clusterView.js';
import { instanceMachine, type InstanceSnapshot, type InstanceState } from './machine.js';
import type { InstanceContext, InstanceInput } from './types.js';
import { refusal, viewOf } from './view.js';

/**
 * What operators see of a cluster in each state of the Instance machine:
 * real snapshots (resolveState), so the tags are the machine's own.
 */
const input: InstanceInput = {
  cluster: { id: 3, name: 'Gamma', shards: [6, 7] },
  shardCount: 8,
  clusterCount: 4,
  timing: { pingInterval: 1000, pingTimeout: 500, launchTimeout: 5000, killTimeout: 2000, reconnectGrace: 0 },
  restart: {
    backoffInitial: 100,
    backoffFactor: 2,
    backoffMax: 1000,
    jitter: 0,
    resetAfter: 10_000,
    maxRestarts: 3,
    within: 60_000,
    noRestartExitCodes: [],
  },
  nonceSalt: 'salt',
  seed: 1,
};

const baseContext: InstanceContext = {
  input,
  pid: null,
  startedAt: null,
  upAt: null,
  launches: 0,
  diag: { seq: 0, nonce: null, last: null, fresh: false },
  lastExit: null,
  recentExits: [],
  lastLines: [],
  downReason: null,
  spawnError: null,
  failedReason: null,
  restarts: { times: [], attempt: 0, backoffMs: 0, seed: 1, byCause: { crash: 0, hang: 0, operator: 0, rollout: 0 } },
  stopRequested: false,
  busUp: true,
  automatic: false,
  reconnecting: false,
  restarting: false,
};

const snapshotIn = (value: InstanceState, context: Partial<InstanceContext> = {}) =>
  instanceMachine.resolveState({ value, context: { ...baseContext, ...context } }) as InstanceSnapshot;

const STATES: InstanceState[] = [
  'idle',
  'queued',
  'starting',
  'waitingLaunchNext',
  'launchOverdue',
  'running',
  'diagPending',
  'diagOverdue',
  'stopping',
  'restarting',
  'stopped',
  'dead',
  'backoff',
  'failed',
];

describe('refusal: what an operator is told for each state', () => {
  it('covers every state of the machine', () => {
    expect([...STATES].sort()).toEqual(Object.keys(instanceMachine.root.states).sort());
  });

  const expected: Record<InstanceState, Record<ClusterAction, string | null>> = {
    idle: { start: null, stop: null, restart: 'cluster 3 is not running (idle); use start' },
    queued: {
      start: 'cluster 3 is already queued to start (queued)',
      stop: null,
      restart: 'cluster 3 is not running (queued); use start',
    },
    starting: { start: 'cluster 3 is already running (starting)', stop: null, restart: null },
    waitingLaunchNext: { start: 'cluster 3 is already running (waitingLaunchNext)', stop: null, restart: null },
    launchOverdue: { start: 'cluster 3 is already running (launchOverdue)', stop: null, restart: null },
    running: { start: 'cluster 3 is already running (running)', stop: null, restart: null },
    diagPending: { start: 'cluster 3 is already running (diagPending)', stop: null, restart: null },
    diagOverdue: { start: 'cluster 3 is already running (diagOverdue)', stop: null, restart: null },
    stopping: {
      start: 'cluster 3 is stopping; start it once it has stopped',
      stop: 'cluster 3 is already stopping',
      restart: 'cluster 3 is not running (stopping); use start',
    },
    restarting: {
      start: 'cluster 3 is already restarting (restarting)',
      stop: null,
      restart: 'cluster 3 is not running (restarting); use start',
    },
    stopped: { start: null, stop: 'cluster 3 is already stopped', restart: 'cluster 3 is not running (stopped); use start' },
    dead: {
      start: 'cluster 3 is dead and will restart by itself once its process is gone',
      stop: null,
      restart: 'cluster 3 is not running (dead); use start',
    },
    backoff: { start: null, stop: null, restart: 'cluster 3 is not running (backoff); use start' },
    failed: { start: null, stop: null, restart: 'cluster 3 is not running (failed); use start' },
  };

  it.each(STATES)('%s', (state) => {
    const snapshot = snapshotIn(state);
    expect({
      start: refusal('start', snapshot),
      stop: refusal('stop', snapshot),
      restart: refusal('restart', snapshot),
    }).toEqual(expected[state]);
    // The view lists what refusal lets through, in the order start, stop, restart.
    expect(viewOf(snapshot).allowed).toEqual((['start', 'stop', 'restart'] as const).filter((c) => expected[state][c] === null));
  });
});

describe('viewOf: a cluster as operators see it', () => {
  it('a cluster that never ran', () => {
    expect(viewOf(snapshotIn('idle'))).toEqual({
      id: 3,
      name: 'Gamma',
      shards: [6, 7],
      state: 'idle',
      group: 'idle',
      up: false,
      allowed: ['start', 'stop'],
      active: false,
      pid: null,
      started_at: null,
      up_at: null,
      restarts: 0,
      restarts_by_cause: { crash: 0, hang: 0, operator: 0, rollout: 0 },
      last_diag: null,
      health_fresh: false,
      last_exit: null,
      down_reason: null,
      backoff_ms: null,
      failed_reason: null,
    });
  });

  it('a cluster up: its process, times, restarts so far and last diagnostic', () => {
    const last = { at: 9000, health: [{ shard_id: 6, up: true, latency: 40, guilds: 1, users: 2 }] };
    const view = viewOf(
      snapshotIn('running', {
        pid: 4242,
        startedAt: 1000,
        upAt: 2000,
        launches: 3,
        diag: { seq: 4, nonce: null, last, fresh: true },
        lastExit: { code: 1, signal: null, at: 500 },
        // Left from an earlier down: not shown while it is up.
        downReason: 'exited',
        failedReason: 'stale',
        restarts: { times: [], attempt: 1, backoffMs: 800, seed: 1, byCause: { crash: 1, hang: 0, operator: 1, rollout: 0 } },
      }),
    );
    expect(view).toMatchObject({
      state: 'running',
      group: 'up',
      up: true,
      active: true,
      pid: 4242,
      started_at: 1000,
      up_at: 2000,
      restarts: 2,
      last_diag: last,
      health_fresh: true,
      last_exit: { code: 1, signal: null, at: 500 },
      down_reason: null,
      backoff_ms: null,
      failed_reason: null,
    });
  });

  it.each(['stopping', 'stopped', 'dead', 'backoff', 'failed', 'queued', 'starting', 'waitingLaunchNext'] as const)(
    '%s: the last answer is kept, but as stale figures, not current ones',
    (state) => {
      const last = { at: 9000, health: [{ shard_id: 6, up: true, latency: 40, guilds: 1, users: 2 }] };
      const view = viewOf(snapshotIn(state, { diag: { seq: 4, nonce: null, last, fresh: true } }));
      expect(view).toMatchObject({ last_diag: last, health_fresh: false });
      expect(currentHealth(view)).toBeNull();
    },
  );

  it('up, but no answer since the process started or a round missed: stale', () => {
    const last = { at: 9000, health: [{ shard_id: 6, up: true, latency: 40, guilds: 1, users: 2 }] };
    const view = viewOf(snapshotIn('running', { pid: 1, diag: { seq: 4, nonce: null, last, fresh: false } }));
    expect(view.health_fresh).toBe(false);
    expect(currentHealth(view)).toBeNull();
    expect(currentHealth(viewOf(snapshotIn('running', { pid: 1, diag: { seq: 4, nonce: null, last, fresh: true } })))).toBe(last.health);
  });

  it.each(['diagPending', 'diagOverdue'] as const)('%s is up too', (state) => {
    expect(viewOf(snapshotIn(state, { pid: 1 }))).toMatchObject({ group: 'up', up: true, active: true });
  });

  it.each(['queued', 'starting', 'waitingLaunchNext', 'launchOverdue'] as const)('%s is starting, not up', (state) => {
    expect(viewOf(snapshotIn(state))).toMatchObject({ state, group: 'starting', up: false });
  });

  it('dead: why it went down', () => {
    expect(viewOf(snapshotIn('dead', { pid: 7, downReason: 'ping_timeout' }))).toMatchObject({
      group: 'dead',
      up: false,
      active: true,
      down_reason: 'ping_timeout',
      backoff_ms: null,
    });
  });

  it('backoff: why it went down, and how long it waits', () => {
    expect(
      viewOf(
        snapshotIn('backoff', {
          downReason: 'exited',
          restarts: { times: [1], attempt: 2, backoffMs: 400, seed: 1, byCause: { crash: 1, hang: 0, operator: 0, rollout: 0 } },
        }),
      ),
    ).toMatchObject({
      group: 'backoff',
      active: false,
      down_reason: 'exited',
      backoff_ms: 400,
      failed_reason: null,
    });
  });

  it('failed: why it went down and why it stays down', () => {
    expect(viewOf(snapshotIn('failed', { downReason: 'exited', failedReason: 'too many restarts' }))).toMatchObject({
      group: 'failed',
      down_reason: 'exited',
      failed_reason: 'too many restarts',
      backoff_ms: null,
    });
  });

  it('stopping and stopped show no down reason', () => {
    expect(viewOf(snapshotIn('stopping', { pid: 9, downReason: 'exited' }))).toMatchObject({
      group: 'stopping',
      down_reason: null,
      active: true,
    });
    expect(viewOf(snapshotIn('stopped', { downReason: 'exited' }))).toMatchObject({ group: 'stopped', down_reason: null, active: false });
  });

  it('never counts a negative number of restarts', () => {
    expect(viewOf(snapshotIn('idle', { launches: 0 })).restarts).toBe(0);
    expect(viewOf(snapshotIn('running', { launches: 1 })).restarts).toBe(0);
  });

  it('one view per snapshot, and one list of allowed commands per combination, shared', () => {
    const snapshot = snapshotIn('running');
    expect(viewOf(snapshot)).toBe(viewOf(snapshot));
    expect(viewOf(snapshotIn('running')).allowed).toBe(viewOf(snapshotIn('diagPending')).allowed);
    expect(viewOf(snapshotIn('running')).allowed).not.toBe(viewOf(snapshotIn('idle')).allowed);
  });
});
